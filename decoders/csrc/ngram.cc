#include "ngram.hh"

#include <cmath>
#include <stdexcept>

#include "lm/config.hh"

namespace asrkit {
namespace {

// ln(10), computed as Python's math.log(10.0) is, so scores equal the Python LMs' to the last bit.
const double kLn10 = std::log(10.0);

// Caches are dropped at the start of a search once they hold this many entries (memory bound; a
// search never sees ids of an earlier one).
constexpr size_t kMaxCached = 4u << 20;

}  // namespace

NgramModel::NgramModel(const std::string& path) {
  lm::ngram::Config config;
  config.messages = nullptr;  // no progress bar for every load
  config.arpa_complain = lm::ngram::Config::NONE;
  model_.reset(lm::ngram::LoadVirtual(path.c_str(), config));
  if (model_->StateSize() != sizeof(lm::ngram::State)) {
    throw std::runtime_error(path + ": unexpected KenLM state size");
  }
}

lm::WordIndex NgramModel::Index(const std::string& word) const {
  if (word.find('\0') != std::string::npos) return model_->BaseVocabulary().NotFound();
  return model_->BaseVocabulary().Index(StringPiece(word.data(), word.size()));
}

double NgramModel::LnScore(const lm::ngram::State& in, lm::WordIndex word, lm::ngram::State* out) const {
  return static_cast<double>(model_->BaseScore(&in, word, out)) * kLn10;
}

// ------------------------------------------------------------------------------------------- token

TokenNgramScorer::TokenNgramScorer(std::shared_ptr<NgramModel> model, const std::vector<std::string>& pieces,
                                   int32_t blank)
    : model_(std::move(model)), blank_(blank) {
  index_.reserve(pieces.size());
  for (const auto& p : pieces) index_.push_back(model_->Index(p));
}

int32_t TokenNgramScorer::Start() {
  if (states_.size() > kMaxCached || cache_.size() > kMaxCached) {
    states_.Clear();
    cache_.Clear();
  }
  lm::ngram::State begin;
  model_->model().BeginSentenceWrite(&begin);
  return states_.Intern(begin);
}

float TokenNgramScorer::Score(int32_t state, int32_t unit, int32_t* child) {
  if (unit == blank_) {
    *child = state;
    return kBlankLogprob;
  }
  const uint64_t key = PairKey(state, unit);
  if (const Step* hit = cache_.Find(key)) {
    *child = hit->child;
    return hit->score;
  }
  lm::ngram::State out;
  const float score = static_cast<float>(model_->LnScore(states_[state], index_[unit], &out));
  *child = states_.Intern(out);
  cache_.Insert(key, Step{score, *child});
  return score;
}

float TokenNgramScorer::Final(int32_t state) {
  lm::ngram::State out;
  return static_cast<float>(model_->LnScore(states_[state], model_->EndSentence(), &out));
}

// -------------------------------------------------------------------------------------------- word

WordNgramScorer::WordNgramScorer(std::shared_ptr<NgramModel> model, std::vector<bool> starts,
                                 std::vector<std::string> texts, const std::vector<std::string>& words,
                                 int32_t blank, double oov_penalty)
    : model_(std::move(model)),
      starts_(std::move(starts)),
      texts_(std::move(texts)),
      blank_(blank),
      oov_penalty_(oov_penalty) {
  if (starts_.size() != texts_.size()) throw std::invalid_argument("starts and texts differ in length");
  for (const auto& w : words) {
    for (size_t i = 0; i <= w.size(); ++i) prefixes_.insert(w.substr(0, i));
  }
  for (const std::string w : {"<s>", "</s>", "<unk>"}) {
    for (size_t i = 0; i <= w.size(); ++i) special_prefixes_.insert(w.substr(0, i));
  }
  Reset();
}

void WordNgramScorer::Reset() {
  kstates_.Clear();
  partial_text_.clear();
  partial_known_.clear();
  partial_index_.clear();
  partial_id_.clear();
  extend_.Clear();
  states_.Clear();
  words_.Clear();
  cache_.Clear();
  // Every unfinished word that is no prefix of an LM word (nor of <s>, </s>, <unk>, which KenLM would
  // look up as themselves) scores as <unk> whatever follows: one partial stands for all of them, so
  // garbage spellings do not make new states.
  oov_partial_ = 0;
  partial_text_.push_back(std::string(1, '\0'));
  partial_known_.push_back(false);
  partial_index_.push_back(model_->Index(partial_text_.back()));
  empty_partial_ = Partial("");
  start_partial_.clear();
  for (size_t u = 0; u < texts_.size(); ++u) start_partial_.push_back(starts_[u] ? Partial(texts_[u]) : -1);
}

int32_t WordNgramScorer::Partial(const std::string& text) {
  auto it = partial_id_.find(text);
  if (it != partial_id_.end()) return it->second;
  // A word holding the OOV mark ('\0', the <unk> piece) is no LM word's prefix.
  const bool known = text.find('\0') == std::string::npos && prefixes_.count(text) > 0;
  if (!known && (text.find('\0') != std::string::npos || special_prefixes_.count(text) == 0)) return oov_partial_;
  const int32_t id = static_cast<int32_t>(partial_text_.size());
  partial_text_.push_back(text);
  partial_known_.push_back(known);
  partial_index_.push_back(model_->Index(text));
  partial_id_.emplace(text, id);
  return id;
}

int32_t WordNgramScorer::Extend(int32_t partial, int32_t unit) {
  if (partial == oov_partial_) return oov_partial_;  // no continuation makes it a word again
  const uint64_t key = PairKey(partial, unit);
  if (const int32_t* hit = extend_.Find(key)) return *hit;
  const int32_t id = Partial(partial_text_[partial] + texts_[unit]);
  extend_.Insert(key, id);
  return id;
}

const WordNgramScorer::WordStep& WordNgramScorer::Word(int32_t kstate, int32_t partial) {
  const uint64_t key = PairKey(kstate, partial);
  if (const WordStep* hit = words_.Find(key)) return *hit;
  lm::ngram::State out;
  const double score = model_->LnScore(kstates_[kstate], partial_index_[partial], &out);
  words_.Insert(key, WordStep{score, kstates_.Intern(out)});
  return *words_.Find(key);
}

int32_t WordNgramScorer::Start() {
  if (states_.size() > kMaxCached || cache_.size() > kMaxCached || words_.size() > kMaxCached ||
      partial_text_.size() > kMaxCached) {
    Reset();
  }
  lm::ngram::State begin;
  model_->model().BeginSentenceWrite(&begin);
  return states_.Intern(Pair{kstates_.Intern(begin), empty_partial_});
}

float WordNgramScorer::Score(int32_t state, int32_t unit, int32_t* child) {
  if (unit == blank_) {
    *child = state;
    return kBlankLogprob;
  }
  const uint64_t key = PairKey(state, unit);
  if (const Step* hit = cache_.Find(key)) {
    *child = hit->child;
    return hit->score;
  }
  const Pair cur = states_[state];
  double score = 0.0;
  Pair next = cur;
  if (starts_[unit]) {
    // The unfinished word (if any) is complete: score it, then start the new word.
    if (!partial_text_[cur.partial].empty()) {
      const WordStep& w = Word(cur.kstate, cur.partial);
      score = w.score;
      next.kstate = w.child;
    }
    next.partial = start_partial_[unit];
    if (!partial_known_[next.partial]) score += oov_penalty_;
  } else {
    next.partial = Extend(cur.partial, unit);
    if (partial_known_[cur.partial] && !partial_known_[next.partial]) score = oov_penalty_;
  }
  const float out = static_cast<float>(score);
  *child = states_.Intern(next);
  cache_.Insert(key, Step{out, *child});
  return out;
}

float WordNgramScorer::Final(int32_t state) {
  const Pair cur = states_[state];
  double score = 0.0;
  int32_t kstate = cur.kstate;
  if (!partial_text_[cur.partial].empty()) {
    const WordStep& w = Word(cur.kstate, cur.partial);
    score = w.score;
    kstate = w.child;
  }
  lm::ngram::State out;
  return static_cast<float>(score + model_->LnScore(kstates_[kstate], model_->EndSentence(), &out));
}

}  // namespace asrkit

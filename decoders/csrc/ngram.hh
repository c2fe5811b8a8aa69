// KenLM n-gram scorers of the compiled search: token-level (lm/ngram/kenlm_lm.py, unit "token") and
// word-level over BPE pieces (lm/ngram/word_fusion.py TokenizedWordLM, sentencepiece vocabularies).
//
// Both keep KenLM states interned (a state id is an index into a table), and cache the score and child
// of every (state, unit) they were asked about, so a context seen before costs one hash lookup.
// KenLM returns log10 probabilities; like the Python LMs these scorers return ln p = log10 p * ln 10,
// rounded to float32 only where the Python LM's result passes through a float32 tensor.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "flat_map.hh"
#include "lm/model.hh"
#include "lm/state.hh"
#include "scorer.hh"

namespace asrkit {

// A loaded ARPA or KenLM binary file (any model type KenLM's LoadVirtual reads).
class NgramModel {
 public:
  explicit NgramModel(const std::string& path);
  const lm::base::Model& model() const { return *model_; }
  // KenLM's id of ``word``; a word that holds the OOV mark '\0' (word_fusion.py) is <unk>.
  lm::WordIndex Index(const std::string& word) const;
  unsigned Order() const { return model_->Order(); }
  lm::WordIndex EndSentence() const { return model_->BaseVocabulary().EndSentence(); }
  // ln p(word | in) as a double, and the state after it.
  double LnScore(const lm::ngram::State& in, lm::WordIndex word, lm::ngram::State* out) const;

 private:
  std::unique_ptr<lm::base::Model> model_;
};

struct StateHash {
  uint64_t operator()(const lm::ngram::State& s) const { return lm::ngram::hash_value(s); }
};

// Score/child of one (state, unit), as cached by the scorers.
struct Step {
  float score;
  int32_t child;
};

// ln p(piece | previous pieces) from an n-gram over the acoustic model's pieces (unit id = piece id).
class TokenNgramScorer : public NativeScorer {
 public:
  // ``pieces``: the LM's unit strings (index = unit id); ``blank``: the unit that is not text (scores
  // kBlankLogprob and keeps the state), or -1.
  TokenNgramScorer(std::shared_ptr<NgramModel> model, const std::vector<std::string>& pieces, int32_t blank);
  int32_t Start() override;
  float Score(int32_t state, int32_t unit, int32_t* child) override;
  float Final(int32_t state) override;
  void Prefetch(int32_t state, int32_t unit) override { cache_.Prefetch(PairKey(state, unit)); }
  bool Prefetches() const override { return true; }

 private:
  std::shared_ptr<NgramModel> model_;
  std::vector<lm::WordIndex> index_;  // KenLM id of each unit
  int32_t blank_;
  Interner<lm::ngram::State, StateHash> states_;
  FlatMap<Step> cache_;
};

// A word n-gram seen through sentencepiece pieces: a word is scored when the next word starts (a piece
// with "▁") or at the end, with </s>; a partial word that stops being the prefix of every LM word costs
// ``oov_penalty`` once. State = (KenLM state after the completed words, the unfinished word's text).
class WordNgramScorer : public NativeScorer {
 public:
  // ``starts[u]``: piece u starts a word; ``texts[u]``: the text it adds to the word (the <unk> piece's
  // text holds '\0', which no LM word has); ``words``: the LM's words without <unk>.
  WordNgramScorer(std::shared_ptr<NgramModel> model, std::vector<bool> starts, std::vector<std::string> texts,
                  const std::vector<std::string>& words, int32_t blank, double oov_penalty);
  int32_t Start() override;
  float Score(int32_t state, int32_t unit, int32_t* child) override;
  float Final(int32_t state) override;
  void Prefetch(int32_t state, int32_t unit) override { cache_.Prefetch(PairKey(state, unit)); }
  bool Prefetches() const override { return true; }

 private:
  struct WordStep {
    double score;
    int32_t child;
  };
  struct Pair {
    int32_t kstate;
    int32_t partial;
    bool operator==(const Pair& o) const { return kstate == o.kstate && partial == o.partial; }
  };
  struct PairHash {
    uint64_t operator()(const Pair& p) const { return PairKey(p.kstate, p.partial); }
  };

  int32_t Partial(const std::string& text);       // id of an unfinished word's text
  int32_t Extend(int32_t partial, int32_t unit);  // id of partial + texts[unit]
  // (ln p(word | kstate), state after it) of the word spelled by ``partial``.
  const WordStep& Word(int32_t kstate, int32_t partial);
  void Reset();

  std::shared_ptr<NgramModel> model_;
  std::vector<bool> starts_;
  std::vector<std::string> texts_;
  std::unordered_set<std::string> prefixes_;  // every prefix of every LM word, "" included
  std::unordered_set<std::string> special_prefixes_;  // prefixes of <s>, </s>, <unk>
  int32_t blank_;
  double oov_penalty_;

  Interner<lm::ngram::State, StateHash> kstates_;
  std::vector<std::string> partial_text_;
  std::vector<bool> partial_known_;
  std::vector<lm::WordIndex> partial_index_;
  std::unordered_map<std::string, int32_t> partial_id_;
  FlatMap<int32_t> extend_;              // (partial, unit) -> partial
  std::vector<int32_t> start_partial_;   // per unit: the partial a word-start piece begins
  Interner<Pair, PairHash> states_;
  FlatMap<WordStep> words_;              // (kstate, partial) -> word score
  FlatMap<Step> cache_;                  // (state, unit) -> step
  int32_t empty_partial_ = 0;
  int32_t oov_partial_ = 0;  // every unfinished word that can no longer become an LM word
};

// What the Python LMs return for the CTC blank (lm/ngram/kenlm_lm.py BLANK_LOGPROB).
constexpr float kBlankLogprob = -1.0e10f;

}  // namespace asrkit

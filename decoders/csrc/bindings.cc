// Python module decoders._ctc_core: the compiled CTC prefix search and its native scorers.
// decoders/ctc_prefix_beam_native.py is the only caller; see it for how Python LMs map to these.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "context_graph.hh"
#include "ctc_viterbi.hh"
#include "ngram.hh"
#include "scorer.hh"
#include "search.hh"

namespace py = pybind11;
using asrkit::NativeScorer;

namespace {

using FloatArray = py::array_t<float, py::array::c_style>;
using LongArray = py::array_t<int64_t, py::array::c_style>;
// Callback scores come as float64: exact for whatever float type the Python LM returned.
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

py::array_t<int64_t> ToArray(const std::vector<int64_t>& v) {
  py::array_t<int64_t> out(static_cast<py::ssize_t>(v.size()));
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

py::list ToPython(const std::vector<std::vector<asrkit::Result>>& results) {
  py::list out;
  for (const auto& hyps : results) {
    py::list one;
    for (const auto& r : hyps) {
      py::tuple units(r.units.size());
      for (size_t i = 0; i < r.units.size(); ++i) units[i] = py::int_(r.units[i]);
      one.append(py::make_tuple(units, r.score, r.am, py::cast(r.lm_each)));
    }
    out.append(one);
  }
  return out;
}

std::vector<const double*> Pointers(const std::vector<DoubleArray>& arrays) {
  std::vector<const double*> out;
  for (const auto& a : arrays) out.push_back(a.data());
  return out;
}

// One search over a batch; holds the arrays and scorers it reads so they outlive it.
class Search {
 public:
  Search(FloatArray log_probs, LongArray lengths, int topk, int beam, int blank, int nbest,
         std::optional<double> token_min_logp, std::optional<double> beam_prune_logp, bool recombine,
         std::vector<std::shared_ptr<NativeScorer>> scorers, std::vector<double> weights, int hotword_beam)
      : log_probs_(std::move(log_probs)),
        lengths_(std::move(lengths)),
        scorers_(std::move(scorers)) {
    if (log_probs_.ndim() != 3) throw std::invalid_argument("log_probs must be (B, T, V)");
    const int B = static_cast<int>(log_probs_.shape(0)), T = static_cast<int>(log_probs_.shape(1));
    const int V = static_cast<int>(log_probs_.shape(2));
    if (lengths_.ndim() != 1 || lengths_.shape(0) != B) throw std::invalid_argument("lengths must be (B,)");
    if (topk < 1) throw std::invalid_argument("topk must be at least 1");
    if (blank < 0 || blank >= V) throw std::invalid_argument("blank id outside the vocabulary");
    if (scorers_.size() != weights.size()) throw std::invalid_argument("one weight per scorer expected");
    asrkit::SearchOptions opts;
    opts.beam = beam;
    opts.blank = blank;
    opts.nbest = nbest;
    opts.use_token_min_logp = token_min_logp.has_value();
    opts.token_min_logp = token_min_logp.value_or(0.0);
    opts.use_beam_prune_logp = beam_prune_logp.has_value();
    opts.beam_prune_logp = beam_prune_logp.value_or(0.0);
    opts.recombine = recombine;
    opts.hotword_beam = hotword_beam;
    std::vector<asrkit::Slot> slots;
    for (size_t i = 0; i < scorers_.size(); ++i) slots.push_back(asrkit::Slot{scorers_[i].get(), weights[i]});
    search_ = std::make_unique<asrkit::PrefixSearch>(log_probs_.data(), B, T, V, lengths_.data(), topk, opts,
                                                     std::move(slots));
  }

  int Frames() const { return search_->Frames(); }
  asrkit::PrefixSearch& Get() { return *search_; }
  const asrkit::PrefixSearch& Get() const { return *search_; }

  py::object Query(int t) {
    const int width = search_->Query(t, &rows_, &cands_);
    if (width == 0) return py::none();
    auto cands = ToArray(cands_);
    return py::make_tuple(ToArray(rows_), cands.reshape({static_cast<py::ssize_t>(rows_.size()),
                                                         static_cast<py::ssize_t>(width)}));
  }

  void Expand(int t, const std::vector<DoubleArray>& scores) {
    // Each callback's (n_rows, width) block must match the last Query.
    for (const auto& a : scores) {
      if (static_cast<size_t>(a.size()) != cands_.size()) throw std::invalid_argument("callback scores: wrong shape");
    }
    search_->Expand(t, Pointers(scores));
  }

  py::object Rebuild() {
    std::vector<int64_t> kept, parents, units;
    if (!search_->Rebuild(&kept, &parents, &units)) return py::none();
    return py::make_tuple(ToArray(kept), ToArray(parents), ToArray(units));
  }

  py::list Run() {
    search_->Run();
    return ToPython(search_->Finish({}));
  }

  py::array_t<int64_t> FinalRows() const { return ToArray(search_->FinalRows()); }

  // Streaming (a search made over (1, 0, V) emissions): append (n, V) frames; without callback scorers
  // run_from(t0) expands frames t0 .. frames-1 here, with them the caller drives query/expand/rebuild.
  void Append(FloatArray frames) {
    const auto V = log_probs_.shape(2);
    if (frames.ndim() != 2 || frames.shape(1) != V) throw std::invalid_argument("frames must be (n, V)");
    search_->AppendFrames(frames.data(), static_cast<int>(frames.shape(0)));
  }

  void RunFrom(int t0) {
    const std::vector<const double*> none;
    for (int t = t0; t < search_->Frames(); ++t) search_->Expand(t, none);
  }

  py::list Partial(int nbest) { return ToPython({search_->Partial(0, nbest)})[0].cast<py::list>(); }

  py::list Finish(const std::vector<DoubleArray>& ends) {
    const size_t n = search_->FinalRows().size();
    for (const auto& a : ends) {
      if (static_cast<size_t>(a.size()) != n) throw std::invalid_argument("final scores: wrong shape");
    }
    return ToPython(search_->Finish(Pointers(ends)));
  }

 private:
  FloatArray log_probs_;
  LongArray lengths_;
  std::vector<std::shared_ptr<NativeScorer>> scorers_;
  std::unique_ptr<asrkit::PrefixSearch> search_;
  std::vector<int64_t> rows_, cands_;
};

// (T, V) float32 log-probabilities of one utterance, checked: the Viterbi reads every frame.
const float* Frames(const FloatArray& log_probs, int64_t* frames, int64_t* vocab) {
  if (log_probs.ndim() != 2) throw py::value_error("log_probs must be (frames, units)");
  *frames = log_probs.shape(0);
  *vocab = log_probs.shape(1);
  return log_probs.data();
}

void CheckUnits(const std::vector<int64_t>& units, int64_t blank, int64_t vocab) {
  if (blank < 0 || blank >= vocab) throw py::value_error("blank id outside the vocabulary");
  for (int64_t u : units)
    if (u < 0 || u >= vocab) throw py::value_error("unit id outside the vocabulary");
}

}  // namespace

PYBIND11_MODULE(_ctc_core, m) {
  m.doc() = "Compiled CTC prefix beam search with native KenLM scorers (see decoders/ctc_prefix_beam_native.py)";

  m.def(
      "ctc_viterbi_scores",
      [](const FloatArray& log_probs, const std::vector<std::vector<int64_t>>& spellings, int64_t blank) {
        int64_t frames, vocab;
        const float* lp = Frames(log_probs, &frames, &vocab);
        CheckUnits({}, blank, vocab);
        for (const auto& units : spellings) CheckUnits(units, blank, vocab);
        py::gil_scoped_release release;
        return asrkit::CtcViterbiScores(lp, frames, vocab, spellings, blank);
      },
      py::arg("log_probs"), py::arg("spellings"), py::arg("blank"));
  m.def(
      "ctc_forced_align",
      [](const FloatArray& log_probs, const std::vector<int64_t>& units,
         int64_t blank) -> std::optional<std::vector<std::pair<int64_t, int64_t>>> {
        int64_t frames, vocab;
        const float* lp = Frames(log_probs, &frames, &vocab);
        CheckUnits(units, blank, vocab);
        std::vector<std::pair<int64_t, int64_t>> spans;
        bool ok;
        {
          py::gil_scoped_release release;
          ok = asrkit::CtcForcedAlign(lp, frames, vocab, units, blank, &spans);
        }
        if (!ok) return std::nullopt;
        return spans;
      },
      py::arg("log_probs"), py::arg("units"), py::arg("blank"));

  py::class_<asrkit::NgramModel, std::shared_ptr<asrkit::NgramModel>>(m, "NgramModel")
      .def(py::init<const std::string&>(), py::arg("path"))
      .def_property_readonly("order", &asrkit::NgramModel::Order)
      .def("index", &asrkit::NgramModel::Index, py::arg("word"));

  py::class_<NativeScorer, std::shared_ptr<NativeScorer>>(m, "NativeScorer");
  py::class_<asrkit::TokenNgramScorer, NativeScorer, std::shared_ptr<asrkit::TokenNgramScorer>>(m, "TokenNgramScorer")
      .def(py::init<std::shared_ptr<asrkit::NgramModel>, const std::vector<std::string>&, int32_t>(),
           py::arg("model"), py::arg("pieces"), py::arg("blank"));
  py::class_<asrkit::WordNgramScorer, NativeScorer, std::shared_ptr<asrkit::WordNgramScorer>>(m, "WordNgramScorer")
      .def(py::init<std::shared_ptr<asrkit::NgramModel>, std::vector<bool>, std::vector<std::string>,
                    const std::vector<std::string>&, int32_t, double>(),
           py::arg("model"), py::arg("starts"), py::arg("texts"), py::arg("words"), py::arg("blank"),
           py::arg("oov_penalty"));
  py::class_<asrkit::UnitBonusScorer, NativeScorer, std::shared_ptr<asrkit::UnitBonusScorer>>(m, "UnitBonusScorer")
      .def(py::init<>());
  py::class_<asrkit::WordBonusScorer, NativeScorer, std::shared_ptr<asrkit::WordBonusScorer>>(m, "WordBonusScorer")
      .def(py::init<std::vector<bool>, std::vector<bool>>(), py::arg("starts"), py::arg("wordish"));

  py::class_<asrkit::ContextGraphScorer, NativeScorer, std::shared_ptr<asrkit::ContextGraphScorer>>(m, "ContextGraphScorer")
      .def(py::init<std::vector<int64_t>, std::vector<int32_t>, std::vector<int32_t>, std::vector<int32_t>,
                    std::vector<int32_t>, std::vector<double>, std::vector<double>, int32_t, std::vector<bool>,
                    int32_t, size_t>(),
           py::arg("arc_start"), py::arg("arc_unit"), py::arg("arc_next"), py::arg("fail"), py::arg("land"),
           py::arg("pending"), py::arg("bank"), py::arg("start"), py::arg("boundary") = std::vector<bool>(),
           py::arg("boundary_symbol") = -1,
           py::arg("max_table_steps") = asrkit::ContextGraphScorer::kDefaultMaxTableSteps);

  py::class_<Search>(m, "PrefixSearch")
      .def(py::init<FloatArray, LongArray, int, int, int, int, std::optional<double>, std::optional<double>, bool,
                    std::vector<std::shared_ptr<NativeScorer>>, std::vector<double>, int>(),
           py::arg("log_probs"), py::arg("lengths"), py::arg("topk"), py::arg("beam"),
           py::arg("blank"), py::arg("nbest"), py::arg("token_min_logp"), py::arg("beam_prune_logp"),
           py::arg("recombine"),
           py::arg("scorers"), py::arg("weights"), py::arg("hotword_beam") = 0)
      .def_property_readonly("frames", &Search::Frames)
      .def("query", &Search::Query, py::arg("t"))
      .def("expand", &Search::Expand, py::arg("t"), py::arg("scores"))
      .def("rebuild", &Search::Rebuild)
      .def("run", &Search::Run)
      .def("final_rows", &Search::FinalRows)
      .def("finish", &Search::Finish, py::arg("ends"))
      .def("append", &Search::Append, py::arg("frames"))
      .def("run_from", &Search::RunFrom, py::arg("t0"))
      .def("partial", &Search::Partial, py::arg("nbest"))
      .def("compact", [](Search& s) { s.Get().Compact(); })
      .def_property_readonly("nodes", [](const Search& s) { return s.Get().Nodes(); });
}

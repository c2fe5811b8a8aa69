// CTC prefix beam search over a batch of utterances: the compiled twin of decoders/ctc_prefix_beam.py.
//
// Same math, same order of operations, same tie-breaking as the Python reference, so both return the
// same n-best with the same scores: per prefix y the probabilities that the frames so far end in a
// blank (p_b) or in y's last unit (p_nb); score(y) = log(p_b + p_nb) + sum_k w_k log p_k(y) (Graves &
// Jaitly, 2014; Hannun et al., 2014). Prefixes are nodes of a trie (one root per utterance); a node
// keeps the states and scores of the native scorers, computed once when the node is made.
//
// Scorers are native (NativeScorer, run here) or callbacks (Python LanguageModels). With callbacks
// the caller drives the frames: Query(t) lists the (state row, candidates) the callbacks must score,
// Expand(t, scores) advances the frame, Rebuild() tells how to regroup the callbacks' state batches
// (kept rows, then new rows advanced from a parent row by a unit), exactly as the Python search does.
// Without callbacks Run() does every frame here.
#pragma once

#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "flat_map.hh"
#include "scorer.hh"

namespace asrkit {

struct SearchOptions {
  int beam = 8;
  int blank = 0;
  int nbest = 1;
  bool use_token_min_logp = false;
  double token_min_logp = 0.0;  // only units with log p >= this (and not the blank) extend a prefix
  bool use_beam_prune_logp = false;
  double beam_prune_logp = 0.0;  // drop prefixes more than this below the frame's best
  // After each frame drop a prefix that another one with the same last unit and native scorer states
  // dominates in both p_b and p_nb (decoders/recombination.py). Only without callback scorers.
  bool recombine = false;
  // Hotwords: with hotword_beam > 0, of the ``beam`` prefixes kept, up to ``hotword_beam`` are partial
  // hotword matches (best by their full score); the others are the best by their score without the
  // provisional (held) part of the scorers that hold one. 0: the ``beam`` best by the full score.
  int hotword_beam = 0;
};

class ContextGraphScorer;
struct NodeArrays;  // search.cc: a finished search's node arrays, kept for the next search on the thread

struct Slot {
  NativeScorer* native;  // nullptr: a callback scorer (its scores come from Expand/Finish)
  double weight;
};

struct Result {
  std::vector<int32_t> units;
  double score;
  double am;
  std::vector<double> lm_each;  // unweighted log p of each scorer (slot order)
};

class PrefixSearch {
 public:
  // log_probs: (B, T, V) float32, must outlive the search; lengths: (B,); K: units tried per frame
  // (pre-beam top-k, ties broken by the lower unit id).
  PrefixSearch(const float* log_probs, int B, int T, int V, const int64_t* lengths, int K,
               const SearchOptions& opts, std::vector<Slot> slots);
  // Hands the node arrays (cleared, capacity kept) to the next search made on this thread.
  ~PrefixSearch();
  PrefixSearch(const PrefixSearch&) = delete;
  PrefixSearch& operator=(const PrefixSearch&) = delete;

  int Frames() const { return n_frames_; }
  bool HasCallbacks() const { return n_callbacks_ > 0; }
  // Callback queries of frame t: state rows and candidates (n_rows x width, padded with the blank).
  // Returns width; 0 means there is nothing to score this frame.
  int Query(int t, std::vector<int64_t>* rows, std::vector<int64_t>* cands);
  // Advances frame t. cb_scores[c]: (n_rows x width) scores of callback c for Query(t)'s pairs.
  void Expand(int t, const std::vector<const double*>& cb_scores);
  // After Expand: how callbacks regroup their states. False when nothing changes.
  bool Rebuild(std::vector<int64_t>* kept_rows, std::vector<int64_t>* parents, std::vector<int64_t>* units);
  // Every frame, no callbacks.
  void Run();
  // State rows of the final prefixes (utterance order, beam order) for the callbacks' final scores.
  std::vector<int64_t> FinalRows() const;
  // n-best per utterance; cb_ends[c][i]: callback c's final score of FinalRows()[i].
  std::vector<std::vector<Result>> Finish(const std::vector<const double*>& cb_ends);

  // Streaming: a search made with B == 1 and T == 0 takes its frames as they come. AppendFrames copies n
  // more frames (n x V, row-major); Expand/Query then run on frames Frames()-n .. Frames()-1 in order,
  // exactly as in a one-shot search over all frames. Frames already expanded are dropped from the copy.
  void AppendFrames(const float* log_probs, int n);
  // Utterance b's ``nbest`` best prefixes so far by running score (no end-of-sentence term), best first.
  std::vector<Result> Partial(int b, int nbest) const;
  // Rebuild the trie with the live prefixes and their ancestors only (bounded memory on a long stream).
  // Node ids are identities only, so results do not change. Call between frames (after Rebuild).
  void Compact();
  size_t Nodes() const { return parent_.size(); }

 private:
  struct Entry {
    int32_t node;
    int32_t row;  // row in the callbacks' state batch (-1: new this frame)
    double p_b;
    double p_nb;
    double lm;  // accumulated weighted LM score
    double total;
    int32_t each;  // offset of its per-scorer scores in the beam's pool
    double held;   // sum of weight x Held(state) of the scorers that hold a provisional score
  };
  struct NewExt {
    int32_t utt;
    int32_t node;
    int32_t parent_row;
    int32_t unit;
  };

  // Empties this search's node arrays and swaps them with ``other``'s (kept capacity goes both ways).
  void ExchangeNodeArrays(NodeArrays& other);
  int32_t Child(int32_t node, int32_t unit);
  int32_t FindChild(int32_t node, int32_t unit);  // -1 when the node has no child for ``unit``
  void Candidates(int t);
  void ExpandUtterance(int b, int t, const std::vector<const double*>& cb_scores, int row_base, int width);
  void Recombine(int b);
  bool SameFuture(int32_t a, int32_t c) const;
  double HeldOf(int32_t node) const;  // a root's held score (Child() sums a new node's from its scorer calls)
  int SelectWithHotwordBeam(int n);
  int PruneSettled(int kept);

  // Frame t of utterance b (streaming: base_frame_ frames were dropped from the front of owned_).
  const float* Row(int b, int t) const {
    return log_probs_ + (static_cast<size_t>(b) * T_ + static_cast<size_t>(t - base_frame_)) * V_;
  }

  const float* log_probs_;
  int B_, T_, V_, K_;
  std::vector<float> owned_;  // streaming: the frames not yet expanded
  int base_frame_ = 0;
  std::vector<int> lengths_;
  SearchOptions opts_;
  std::vector<Slot> slots_;
  std::vector<int> native_of_slot_;    // index among native scorers, or -1
  std::vector<int> callback_of_slot_;  // index among callbacks, or -1
  int n_native_ = 0, n_callbacks_ = 0, n_frames_ = 0;
  bool holds_ = false;  // hotword_beam > 0 and some native scorer holds provisional scores
  std::vector<char> native_holds_;  // per native scorer: whether it holds a provisional score (HeldOf sums them)
  std::vector<ContextGraphScorer*> graph_of_native_;  // per native scorer: itself if a context graph, else null
  bool prefetch_ = false;  // some native scorer prefetches (ExpandUtterance's look-ahead pass)

  // Trie: node -> parent, unit; native scorers' state and score per node (n_native_ per node).
  std::vector<int32_t> parent_, unit_;
  std::vector<int32_t> nstate_;
  std::vector<float> nscore_;
  std::vector<double> nheld_;  // with holds_: HeldOf(node), computed once when the node is made
  // Children of each node as a singly linked list (first child, next sibling), most recently used first. A
  // node's children are made while it is in the beam, so they are recent nodes whose entries are still in
  // cache; a hash map over all (node, unit) pairs of a batch misses the cache on almost every look-up. A node
  // with more than kListChildren children (a prefix that stays in the beam through a long silence is
  // extended by many different noise units) keeps them in the hash map instead: a long list is slower.
  static constexpr int kListChildren = 32;
  std::vector<int32_t> first_child_, next_sibling_, n_children_;
  FlatMap<int32_t> many_children_;
  void Link(int32_t node, int32_t child);

  // Beams: entries and their per-scorer scores, per utterance; scratch for the next frame.
  std::vector<std::vector<Entry>> beams_;
  std::vector<std::vector<double>> pools_;
  std::vector<Entry> next_;
  std::vector<double> next_pool_;
  std::vector<int32_t> order_;
  std::vector<int32_t> pos_;      // node -> index in next_ (valid when stamp_ matches)
  std::vector<uint32_t> stamp_;
  uint32_t cur_stamp_ = 0;
  std::vector<int32_t> alive_pos_;  // node -> index in its beam after the frame (valid when alive_ matches)
  std::vector<int32_t> alive_;
  std::vector<NewExt> new_ext_;
  int frame_ = -1;

  // SelectWithHotwordBeam: (key, entry) lists, best first: the best by total - held (NaN as -inf), and the
  // best by total of the entries that hold a partial match (the lane's candidates).
  std::vector<std::pair<double, int32_t>> top_, lane_top_;
  std::vector<std::pair<uint64_t, int32_t>> keyed_;  // Recombine: (hash of last unit + states, index)
  std::vector<char> drop_;

  // Candidates of the current frame per utterance (filtered by token_min_logp).
  int cand_frame_ = -1;
  std::vector<std::vector<int32_t>> cids_;
  std::vector<std::vector<float>> clps_;
};

}  // namespace asrkit

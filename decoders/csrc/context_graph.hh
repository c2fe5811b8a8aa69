// Hotwords (context biasing) inside the compiled search: the twin of decoders/context_graph.py.
//
// An Aho-Corasick automaton over the hotword phrases' units, built in Python (ContextGraph.arrays) and
// passed in as flat arrays: arcs of node n are arc_unit/arc_next[arc_start[n] .. arc_start[n+1]) sorted by
// unit; fail[n] is the longest proper suffix state; land[n] is where a hypothesis stays after reaching n
// (n itself, or its suffix state when n has no children). Growing node n by unit u reaches n' (goto arcs,
// else fail arcs) and scores pending[land[n']] - pending[n] + bank[n']: a matched unit earns its bonus, a
// failed partial match pays it back, a completed phrase keeps w_p |p| (bank). Final() takes back pending.
// State ids are node ids. Computed in double and rounded to float32 once, as the reference does.
// Whole words (boundary non-empty): a unit with boundary[unit] set is read as the boundary symbol, then
// the unit (both steps summed before rounding), and Final() reads the boundary symbol first, so a phrase
// (which ends with the symbol) is banked only when the next word starts or the hypothesis ends.
#pragma once

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "scorer.hh"

namespace asrkit {

class ContextGraphScorer final : public NativeScorer {
 public:
  static constexpr size_t kDefaultMaxTableSteps = size_t{1} << 22;  // a step table of at most 32 MB
  ContextGraphScorer(std::vector<int64_t> arc_start, std::vector<int32_t> arc_unit, std::vector<int32_t> arc_next,
                     std::vector<int32_t> fail, std::vector<int32_t> land, std::vector<double> pending,
                     std::vector<double> bank, int32_t start, std::vector<bool> boundary = {},
                     int32_t boundary_symbol = -1, size_t max_table_steps = kDefaultMaxTableSteps)
      : arc_start_(std::move(arc_start)), arc_unit_(std::move(arc_unit)), arc_next_(std::move(arc_next)),
        fail_(std::move(fail)), land_(std::move(land)), pending_(std::move(pending)), bank_(std::move(bank)),
        start_(start), boundary_(std::move(boundary)), boundary_symbol_(boundary_symbol) {
    const size_t n = fail_.size();
    if (n == 0 || arc_start_.size() != n + 1 || land_.size() != n || pending_.size() != n || bank_.size() != n ||
        arc_unit_.size() != arc_next_.size() || static_cast<size_t>(arc_start_.back()) != arc_unit_.size() ||
        start_ < 0 || static_cast<size_t>(start_) >= n || (!boundary_.empty() && boundary_symbol_ < 0)) {
      throw std::invalid_argument("context graph: inconsistent arrays");
    }
    // The root's arcs as a dense table: every failed match ends its fail chain at the root, and with
    // thousands of phrases the root has an arc for most units, so this look-up is the hot one.
    for (int64_t a = arc_start_[0]; a < arc_start_[1]; ++a) {
      const int32_t u = arc_unit_[a];
      if (u < 0) continue;  // a unit no search emits (a piece the vocabulary lacks): never matched
      if (static_cast<size_t>(u) >= root_next_.size()) root_next_.resize(u + 1, -1);
      root_next_[u] = arc_next_[a];
    }
    // Most hypotheses are in no partial match (the root): their steps, by unit, computed once by the same
    // code as any other step, so the look-up returns exactly what Step() would.
    const size_t n_units = std::max(root_next_.size(), boundary_.size());
    root_score_.resize(n_units);
    root_child_.resize(n_units);
    for (size_t u = 0; u < n_units; ++u) root_score_[u] = Step(0, static_cast<int32_t>(u), &root_child_[u]);
    // A graph of at most max_table_steps (state, unit) pairs gets every step in one table, filled by Step(): with
    // thousands of phrases nearly every prefix is inside a partial match of some phrase (with letters as units
    // 4 in 5 steps start there), and a step from there searches arcs and walks fail links; the table answers
    // each with one read. 1000 names and their aliases over 30 letters: 12k states, 2.8 MB; 1000 names over
    // 500 BPE pieces: 3.5k states, 14 MB. Larger graphs keep the memo below.
    if (n * n_units <= max_table_steps) {
      n_table_units_ = n_units;
      table_.resize(n * n_units);
      for (size_t s = 0; s < n; ++s) {
        for (size_t u = 0; u < n_units; ++u) {
          TableStep& t = table_[s * n_units + u];
          t.score = Step(static_cast<int32_t>(s), static_cast<int32_t>(u), &t.child);
        }
      }
    }
  }
  int32_t Start() override { return start_; }
  float Score(int32_t state, int32_t unit, int32_t* child) override {
    if (unit >= 0 && static_cast<size_t>(unit) < n_table_units_) {
      const TableStep& t = table_[static_cast<size_t>(state) * n_table_units_ + static_cast<size_t>(unit)];
      *child = t.child;
      return t.score;
    }
    if (state == 0 && unit >= 0 && static_cast<size_t>(unit) < root_score_.size()) {
      *child = root_child_[unit];
      return root_score_[unit];
    }
    // Inside a partial match: the same (state, unit) steps recur from frame to frame and prefix to prefix, so
    // the last step of each slot of a small direct-mapped table is kept (hits return what Step() returned).
    StepMemo& m = memo_[(static_cast<uint32_t>(state) * 2654435761u ^ static_cast<uint32_t>(unit)) & (kMemo - 1)];
    if (m.state != state || m.unit != unit) {
      int32_t c;
      const float score = Step(state, unit, &c);
      m = StepMemo{state, unit, c, score};
    }
    *child = m.child;
    return m.score;
  }
  bool Holds() const override { return true; }
  double Held(int32_t state) const override { return pending_[state]; }
  float ScoreHeld(int32_t state, int32_t unit, int32_t* child, double* held) override {
    const float score = Score(state, unit, child);
    *held = pending_[*child];
    return score;
  }
  float Final(int32_t state) override {
    if (boundary_.empty()) return static_cast<float>(-pending_[state]);
    int32_t mid;
    const double first = Move(state, boundary_symbol_, &mid);
    return static_cast<float>(first - pending_[mid]);
  }

 private:
  float Step(int32_t state, int32_t unit, int32_t* child) const {
    if (AfterBoundary(unit)) {
      int32_t mid;
      const double first = Move(state, boundary_symbol_, &mid);
      const double second = Move(mid, unit, child);
      return static_cast<float>(first + second);
    }
    return static_cast<float>(Move(state, unit, child));
  }
  bool AfterBoundary(int32_t unit) const {
    return unit >= 0 && static_cast<size_t>(unit) < boundary_.size() && boundary_[unit];
  }
  // One automaton step in double: goto arcs, else fail arcs; the score s(n') - s(n) + bank(reached).
  double Move(int32_t state, int32_t unit, int32_t* child) const {
    int32_t f = state, reached = 0;
    for (;;) {
      const int32_t hit = Arc(f, unit);
      if (hit >= 0) {
        reached = hit;
        break;
      }
      if (f == 0) break;  // the root without an arc for ``unit``: back to the root
      f = fail_[f];
    }
    *child = land_[reached];
    return pending_[*child] - pending_[state] + bank_[reached];
  }
  int32_t Arc(int32_t node, int32_t unit) const {
    if (node == 0) {
      return (unit >= 0 && static_cast<size_t>(unit) < root_next_.size()) ? root_next_[unit] : -1;
    }
    const auto begin = arc_unit_.begin() + arc_start_[node], end = arc_unit_.begin() + arc_start_[node + 1];
    const auto it = std::lower_bound(begin, end, unit);
    return (it != end && *it == unit) ? arc_next_[it - arc_unit_.begin()] : -1;
  }
  std::vector<int64_t> arc_start_;
  std::vector<int32_t> arc_unit_, arc_next_, fail_, land_;
  std::vector<int32_t> root_next_;  // root arcs by unit (-1: none)
  std::vector<float> root_score_;   // Step(root, unit) by unit
  std::vector<int32_t> root_child_;
  std::vector<double> pending_, bank_;
  struct StepMemo {
    int32_t state = -1, unit = -1, child = 0;
    float score = 0.0f;
  };
  struct TableStep {
    int32_t child = 0;
    float score = 0.0f;
  };
  std::vector<TableStep> table_;  // Step(s, u) at s * n_table_units_ + u (empty: a large graph)
  size_t n_table_units_ = 0;
  static constexpr size_t kMemo = 4096;  // 64 KB: stays in the L2 cache
  std::vector<StepMemo> memo_ = std::vector<StepMemo>(kMemo);
  int32_t start_;
  std::vector<bool> boundary_;  // per unit: a word boundary comes before it (empty: phrases match anywhere)
  int32_t boundary_symbol_;
};

}  // namespace asrkit

#include "ctc_viterbi.hh"

#include <algorithm>
#include <cmath>
#include <limits>

namespace asrkit {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// One Viterbi pass over the blank-interleaved labels l' = (blank, y_1, blank, ..., y_U, blank). With `back`
// it records, per frame and state, how far back the best predecessor is (0: stay, 1: s-1, 2: s-2; the s-2
// jump only into a unit that differs from the unit before it). Returns the best final state, or -1.
//
// Only the band of states that are reachable from the start by frame t (s <= 2t + 1) and can still reach a
// final state by the last frame (s >= S - 2 - 2 (T - 1 - t)) is computed: a state outside it is never on a
// complete path, and a state inside it reads only states of the previous frame's band or states never
// reached (-inf), so every value the result depends on is the one the full table has (the reference,
// decoders/ctc_alignment.py, computes the full table). Two -inf states in front of each row spare the
// s - 1 and s - 2 bounds tests.
template <bool kBack>
int64_t Run(const float* lp, int64_t frames, int64_t vocab, const std::vector<int64_t>& units, int64_t blank,
            std::vector<uint8_t>* back, double* score) {
  const int64_t n_units = static_cast<int64_t>(units.size());
  const int64_t n_states = 2 * n_units + 1;
  *score = kNegInf;
  if (frames <= 0) return -1;
  std::vector<int64_t> label(n_states, blank);
  std::vector<uint8_t> skip(n_states, 0);
  for (int64_t u = 0; u < n_units; ++u) {
    label[2 * u + 1] = units[u];
    if (u > 0) skip[2 * u + 1] = units[u] != units[u - 1];
  }
  std::vector<double> row_a(n_states + 2, kNegInf), row_b(n_states + 2, kNegInf);
  double* delta = row_a.data() + 2;
  double* next = row_b.data() + 2;
  delta[0] = lp[blank];
  if (n_states > 1) delta[1] = lp[label[1]];
  if (kBack) back->assign(static_cast<size_t>(frames * n_states), 0);
  for (int64_t t = 1; t < frames; ++t) {
    const float* row = lp + t * vocab;
    const int64_t lo = std::max<int64_t>(0, n_states - 2 - 2 * (frames - 1 - t));
    const int64_t hi = std::min<int64_t>(n_states - 1, 2 * t + 1);
    if (lo > hi) return -1;  // more units than the frames can hold: no path at all
    uint8_t* from_row = kBack ? back->data() + t * n_states : nullptr;
    for (int64_t s = lo; s <= hi; ++s) {
      double best = delta[s];
      uint8_t from = 0;
      if (delta[s - 1] > best) best = delta[s - 1], from = 1;
      if (skip[s] && delta[s - 2] > best) best = delta[s - 2], from = 2;
      next[s] = best + row[label[s]];
      if (kBack) from_row[s] = from;
    }
    std::swap(delta, next);
  }
  int64_t last = n_states - 1;
  if (n_states > 1 && delta[n_states - 2] > delta[last]) last = n_states - 2;
  if (!std::isfinite(delta[last])) return -1;
  *score = delta[last];
  return last;
}

}  // namespace

double CtcViterbiScore(const float* log_probs, int64_t frames, int64_t vocab, const std::vector<int64_t>& units,
                       int64_t blank) {
  double score;
  Run<false>(log_probs, frames, vocab, units, blank, nullptr, &score);
  return score;
}

std::vector<double> CtcViterbiScores(const float* log_probs, int64_t frames, int64_t vocab,
                                     const std::vector<std::vector<int64_t>>& spellings, int64_t blank) {
  std::vector<double> scores;
  scores.reserve(spellings.size());
  for (const auto& units : spellings) scores.push_back(CtcViterbiScore(log_probs, frames, vocab, units, blank));
  return scores;
}

bool CtcForcedAlign(const float* log_probs, int64_t frames, int64_t vocab, const std::vector<int64_t>& units,
                    int64_t blank, std::vector<std::pair<int64_t, int64_t>>* spans) {
  spans->clear();
  if (units.empty()) return true;
  std::vector<uint8_t> back;
  double score;
  int64_t s = Run<true>(log_probs, frames, vocab, units, blank, &back, &score);
  if (s < 0) return false;
  const int64_t n_states = 2 * static_cast<int64_t>(units.size()) + 1;
  spans->assign(units.size(), {-1, -1});
  for (int64_t t = frames - 1; t >= 0; --t) {
    if (s % 2 == 1) {
      auto& span = (*spans)[s / 2];
      if (span.second < 0) span.second = t + 1;
      span.first = t;
    }
    if (t > 0) s -= back[t * n_states + s];
  }
  return true;
}

}  // namespace asrkit

#include "ctc_viterbi.hh"

#include <cmath>
#include <limits>

namespace asrkit {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// One Viterbi pass over the blank-interleaved labels l' = (blank, y_1, blank, ..., y_U, blank). With `back`
// it records, per frame and state, how far back the best predecessor is (0: stay, 1: s-1, 2: s-2; the s-2
// jump only into a unit that differs from the unit before it). Returns the best final state, or -1.
int64_t Run(const float* lp, int64_t frames, int64_t vocab, const std::vector<int64_t>& units, int64_t blank,
            std::vector<uint8_t>* back, double* score) {
  const int64_t n_units = static_cast<int64_t>(units.size());
  const int64_t n_states = 2 * n_units + 1;
  *score = kNegInf;
  if (frames <= 0) return -1;
  std::vector<int64_t> label(n_states, blank);
  std::vector<bool> skip(n_states, false);
  for (int64_t u = 0; u < n_units; ++u) {
    label[2 * u + 1] = units[u];
    if (u > 0) skip[2 * u + 1] = units[u] != units[u - 1];
  }
  std::vector<double> delta(n_states, kNegInf), next(n_states);
  delta[0] = lp[blank];
  if (n_states > 1) delta[1] = lp[label[1]];
  if (back) back->assign(static_cast<size_t>(frames * n_states), 0);
  for (int64_t t = 1; t < frames; ++t) {
    const float* row = lp + t * vocab;
    for (int64_t s = 0; s < n_states; ++s) {
      double best = delta[s];
      uint8_t from = 0;
      if (s >= 1 && delta[s - 1] > best) best = delta[s - 1], from = 1;
      if (s >= 2 && skip[s] && delta[s - 2] > best) best = delta[s - 2], from = 2;
      next[s] = best + row[label[s]];
      if (back) (*back)[t * n_states + s] = from;
    }
    delta.swap(next);
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
  Run(log_probs, frames, vocab, units, blank, nullptr, &score);
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
  int64_t s = Run(log_probs, frames, vocab, units, blank, &back, &score);
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

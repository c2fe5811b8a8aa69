// CTC Viterbi over one utterance's (T, V) log-probabilities: the best single frame path that spells a given
// unit sequence (Graves et al., 2006, "Connectionist Temporal Classification", ICML, sec. 4.1). Python twin:
// decoders/ctc_alignment.py (ctc_forced_align_reference, ctc_viterbi_score_reference).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace asrkit {

// Log-probability of the best path of `units` over frames [0, frames) of `log_probs` (row-major, `vocab`
// floats per frame); -infinity when the frames cannot spell the units. An empty `units` scores all-blank.
double CtcViterbiScore(const float* log_probs, int64_t frames, int64_t vocab, const std::vector<int64_t>& units,
                       int64_t blank);

// CtcViterbiScore of each of `spellings` over the same frames: one call for the many candidate spellings the
// hotword check scores per stretch of frames (asrkit/inference/hotword_check.py).
std::vector<double> CtcViterbiScores(const float* log_probs, int64_t frames, int64_t vocab,
                                     const std::vector<std::vector<int64_t>>& spellings, int64_t blank);

// Frame span [start, end) of each unit on that best path; false when the frames cannot spell the units.
bool CtcForcedAlign(const float* log_probs, int64_t frames, int64_t vocab, const std::vector<int64_t>& units,
                    int64_t blank, std::vector<std::pair<int64_t, int64_t>>* spans);

}  // namespace asrkit

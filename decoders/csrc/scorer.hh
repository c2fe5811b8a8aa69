// Scorers that run inside the compiled search, and the two length bonuses.
//
// A native scorer is the C++ twin of a Python LanguageModel (lm/interface.py) for one hypothesis at a
// time: a state is a small integer id the scorer hands out; Score() gives ln p(unit | state) and the
// child's state in one call (KenLM computes both together). Scores are rounded to float32 because the
// Python scorers return float32 tensors, and the compiled search must add exactly the same numbers as
// the Python reference search.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace asrkit {

class NativeScorer {
 public:
  virtual ~NativeScorer() = default;
  // State of the empty prefix (after <s>). Called once per search, before any Score(); a scorer may drop
  // its caches here (no state id of an earlier search is used again).
  virtual int32_t Start() = 0;
  // ln p(unit | state) and the state after ``unit``.
  virtual float Score(int32_t state, int32_t unit, int32_t* child) = 0;
  // ln p(</s> | state).
  virtual float Final(int32_t state) = 0;
  // A hint that Score(state, unit) comes soon: scorers with large tables start loading its entry.
  virtual void Prefetch(int32_t state, int32_t unit) {}
  // Whether Prefetch() does anything: the search skips its look-ahead pass when no scorer prefetches.
  virtual bool Prefetches() const { return false; }
  // The part of a state's accumulated score that is provisional (a hotword's partial match, taken back
  // unless the phrase completes); 0 for LMs. The search may rank prefixes without it (hotword_beam).
  virtual bool Holds() const { return false; }
  virtual double Held(int32_t state) const { return 0.0; }
  // Score() and Held() of the child state in one call: the search asks for both for every prefix it makes, and
  // a holder can answer the second from what the first just read.
  virtual float ScoreHeld(int32_t state, int32_t unit, int32_t* child, double* held) {
    const float score = Score(state, unit, child);
    *held = Held(*child);
    return score;
  }
};

// +1 per unit (decoders/bonus.py UnitBonus): with weight beta, beta |y|.
class UnitBonusScorer : public NativeScorer {
 public:
  int32_t Start() override { return 0; }
  float Score(int32_t state, int32_t, int32_t* child) override {
    *child = state;
    return 1.0f;
  }
  float Final(int32_t) override { return 0.0f; }
};

// +1 per completed word (decoders/bonus.py WordBonus). State: 1 inside an unfinished word, else 0.
class WordBonusScorer : public NativeScorer {
 public:
  WordBonusScorer(std::vector<bool> starts, std::vector<bool> wordish)
      : starts_(std::move(starts)), wordish_(std::move(wordish)) {}
  int32_t Start() override { return 0; }
  float Score(int32_t state, int32_t unit, int32_t* child) override {
    // A word-unit puts the hypothesis inside a word; punctuation and specials keep its state.
    *child = wordish_[unit] ? 1 : state;
    return (starts_[unit] && state) ? 1.0f : 0.0f;
  }
  float Final(int32_t state) override { return static_cast<float>(state); }

 private:
  std::vector<bool> starts_;
  std::vector<bool> wordish_;
};

}  // namespace asrkit

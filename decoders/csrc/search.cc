#include "search.hh"

#include "context_graph.hh"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace asrkit {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// log(exp(a) + exp(b)), written as the Python reference writes it (same libm calls, same rounding).
inline double LogAdd(double a, double b) {
  if (a == kNegInf) return b;
  if (b == kNegInf) return a;
  if (a > b) return a + std::log(1.0 + std::exp(b - a));
  return b + std::log(1.0 + std::exp(a - b));
}

// Whether any of the 16 values at ``x`` is >= ``bar`` (four SSE compares where available).
inline bool BlockReaches(const float* x, float bar) {
#if defined(__SSE2__)
  const __m128 b = _mm_set1_ps(bar);
  const __m128 m = _mm_or_ps(_mm_or_ps(_mm_cmpge_ps(_mm_loadu_ps(x), b), _mm_cmpge_ps(_mm_loadu_ps(x + 4), b)),
                             _mm_or_ps(_mm_cmpge_ps(_mm_loadu_ps(x + 8), b), _mm_cmpge_ps(_mm_loadu_ps(x + 12), b)));
  return _mm_movemask_ps(m) != 0;
#else
  for (int j = 0; j < 16; ++j) {
    if (x[j] >= bar) return true;
  }
  return false;
#endif
}

}  // namespace

// The node-indexed arrays of a finished search, emptied with their capacity kept, for the next search on the
// same thread. A batch's search makes hundreds of thousands of trie nodes; growing fresh arrays for each batch
// cost page faults (the allocator maps and unmaps large blocks) and copies on every doubling: a fifth of a
// whole search of saved emissions, with or without scorers (same results either way; RESULTS "Hotwords").
struct NodeArrays {
  std::vector<int32_t> parent, unit, first_child, next_sibling, n_children, nstate, pos, alive, alive_pos;
  std::vector<float> nscore;
  std::vector<double> nheld;
  std::vector<uint32_t> stamp;

  size_t Bytes() const {
    return 4 * (parent.capacity() + unit.capacity() + first_child.capacity() + next_sibling.capacity() +
                n_children.capacity() + nstate.capacity() + pos.capacity() + alive.capacity() +
                alive_pos.capacity() + nscore.capacity() + stamp.capacity()) +
           8 * nheld.capacity();
  }
};

namespace {

constexpr size_t kMaxSpareSets = 2;                // searches alive at once on one thread that get warm arrays
constexpr size_t kMaxSpareBytes = size_t{1} << 29;  // a larger set (a very long batch) is freed, not kept
thread_local std::vector<NodeArrays> spare_arrays;

template <class T>
void EmptyAndSwap(std::vector<T>& mine, std::vector<T>& other) {
  mine.clear();
  mine.swap(other);
  mine.clear();
}

}  // namespace

void PrefixSearch::ExchangeNodeArrays(NodeArrays& other) {
  EmptyAndSwap(parent_, other.parent);
  EmptyAndSwap(unit_, other.unit);
  EmptyAndSwap(first_child_, other.first_child);
  EmptyAndSwap(next_sibling_, other.next_sibling);
  EmptyAndSwap(n_children_, other.n_children);
  EmptyAndSwap(nstate_, other.nstate);
  EmptyAndSwap(pos_, other.pos);
  EmptyAndSwap(alive_, other.alive);
  EmptyAndSwap(alive_pos_, other.alive_pos);
  EmptyAndSwap(nscore_, other.nscore);
  EmptyAndSwap(nheld_, other.nheld);
  EmptyAndSwap(stamp_, other.stamp);
}

PrefixSearch::~PrefixSearch() {
  if (spare_arrays.size() >= kMaxSpareSets) return;
  NodeArrays emptied;
  ExchangeNodeArrays(emptied);  // ``emptied`` now holds this search's arrays, emptied
  if (emptied.Bytes() <= kMaxSpareBytes) spare_arrays.push_back(std::move(emptied));
}

PrefixSearch::PrefixSearch(const float* log_probs, int B, int T, int V, const int64_t* lengths, int K,
                           const SearchOptions& opts, std::vector<Slot> slots)
    : log_probs_(log_probs),
      B_(B),
      T_(T),
      V_(V),
      K_(std::max(1, std::min(K, V))),
      opts_(opts),
      slots_(std::move(slots)) {
  if (!spare_arrays.empty()) {  // an earlier search's arrays, emptied: their capacity is kept
    ExchangeNodeArrays(spare_arrays.back());
    spare_arrays.pop_back();
  }
  if (opts_.beam < 1 || opts_.nbest < 1) throw std::invalid_argument("beam and nbest must be at least 1");
  for (int b = 0; b < B_; ++b) {
    const int len = static_cast<int>(lengths[b]);
    if (len < 0 || len > T_) throw std::invalid_argument("a length is outside [0, frames]");
    lengths_.push_back(len);
    n_frames_ = std::max(n_frames_, len);
  }
  for (const Slot& s : slots_) {
    native_of_slot_.push_back(s.native ? n_native_++ : -1);
    callback_of_slot_.push_back(s.native ? -1 : n_callbacks_++);
  }
  if (opts_.hotword_beam < 0) throw std::invalid_argument("hotword_beam must be >= 0");
  for (int k = 0, s = 0; s < static_cast<int>(slots_.size()); ++s) {
    NativeScorer* native = slots_[s].native;
    if (!native) continue;
    native_holds_.push_back(native->Holds());
    graph_of_native_.push_back(dynamic_cast<ContextGraphScorer*>(native));
    if (native->Holds() && opts_.hotword_beam > 0) holds_ = true;
    if (native->Prefetches()) prefetch_ = true;
    ++k;
  }
  if (opts_.recombine && n_callbacks_ > 0) {
    throw std::invalid_argument("recombine: a callback scorer's states cannot be compared");
  }
  // One root per utterance (node b), all native scorers in their start state, row b of the callbacks.
  std::vector<int32_t> start;
  for (const Slot& s : slots_) {
    if (s.native) start.push_back(s.native->Start());
  }
  const size_t n_sc = slots_.size();
  beams_.resize(B_);
  pools_.resize(B_);
  for (int b = 0; b < B_; ++b) {
    parent_.push_back(-1);
    unit_.push_back(-1);
    first_child_.push_back(-1);
    next_sibling_.push_back(-1);
    n_children_.push_back(0);
    nstate_.insert(nstate_.end(), start.begin(), start.end());
    nscore_.insert(nscore_.end(), n_native_, 0.0f);
    beams_[b].push_back(Entry{b, b, 0.0, kNegInf, 0.0, 0.0, 0, 0.0});
    pools_[b].assign(n_sc, 0.0);
  }
  if (holds_) {
    for (int b = 0; b < B_; ++b) {
      nheld_.push_back(HeldOf(b));
      beams_[b][0].held = nheld_[b];
    }
  }
  cids_.resize(B_);
  clps_.resize(B_);
}

double PrefixSearch::HeldOf(int32_t node) const {
  double h = 0.0;
  for (int k = 0, s = 0; s < static_cast<int>(slots_.size()); ++s) {
    if (!slots_[s].native) continue;
    const int32_t state = nstate_[static_cast<size_t>(node) * n_native_ + k];
    if (native_holds_[k]) h += slots_[s].weight * slots_[s].native->Held(state);
    ++k;
  }
  return h;
}

int32_t PrefixSearch::FindChild(int32_t node, int32_t unit) {
  if (n_children_[node] > kListChildren) {
    const int32_t* hit = many_children_.Find(PairKey(static_cast<uint32_t>(node), static_cast<uint32_t>(unit)));
    return hit ? *hit : -1;
  }
  // Move to front: the units that extend a prefix are mostly the same from one frame to the next.
  for (int32_t prev = -1, c = first_child_[node]; c >= 0; prev = c, c = next_sibling_[c]) {
    if (unit_[c] != unit) continue;
    if (prev >= 0) {
      next_sibling_[prev] = next_sibling_[c];
      next_sibling_[c] = first_child_[node];
      first_child_[node] = c;
    }
    return c;
  }
  return -1;
}

void PrefixSearch::Link(int32_t node, int32_t child) {
  auto key = [&](int32_t c) { return PairKey(static_cast<uint32_t>(node), static_cast<uint32_t>(unit_[c])); };
  const int n = ++n_children_[node];
  if (n <= kListChildren) {
    next_sibling_[child] = first_child_[node];
    first_child_[node] = child;
    return;
  }
  if (n == kListChildren + 1) {  // the list's children move to the hash map
    for (int32_t c = first_child_[node]; c >= 0; c = next_sibling_[c]) many_children_.Insert(key(c), c);
    first_child_[node] = -1;
  }
  many_children_.Insert(key(child), child);
}

int32_t PrefixSearch::Child(int32_t node, int32_t unit) {
  const int32_t hit = FindChild(node, unit);
  if (hit >= 0) return hit;
  const int32_t id = static_cast<int32_t>(parent_.size());
  parent_.push_back(node);
  unit_.push_back(unit);
  first_child_.push_back(-1);
  next_sibling_.push_back(-1);
  n_children_.push_back(0);
  Link(node, id);
  // The native scorers' score of the unit and the state after it, computed once per node; with the hotword
  // beam also the held part of the new state (HeldOf's sum, in the same order, from the same calls).
  const size_t base_parent = static_cast<size_t>(node) * n_native_;
  double held_sum = 0.0;
  for (int k = 0, s = 0; s < static_cast<int>(slots_.size()); ++s) {
    NativeScorer* native = slots_[s].native;
    if (!native) continue;
    int32_t child_state;
    float score;
    const int32_t state = nstate_[base_parent + k];
    // A context graph (a final class) is called directly: its table look-up is inlined here.
    ContextGraphScorer* graph = graph_of_native_[k];
    if (holds_ && native_holds_[k]) {
      double held;
      score = graph ? graph->ScoreHeld(state, unit, &child_state, &held)
                    : native->ScoreHeld(state, unit, &child_state, &held);
      held_sum += slots_[s].weight * held;
    } else {
      score = graph ? graph->Score(state, unit, &child_state) : native->Score(state, unit, &child_state);
    }
    nstate_.push_back(child_state);
    nscore_.push_back(score);
    ++k;
  }
  if (holds_) nheld_.push_back(held_sum);
  return id;
}

void PrefixSearch::Candidates(int t) {
  if (cand_frame_ == t) return;
  cand_frame_ = t;
  const bool thresh = opts_.use_token_min_logp;
  const float floor = static_cast<float>(opts_.token_min_logp);
  for (int b = 0; b < B_; ++b) {
    std::vector<int32_t>& ids = cids_[b];
    std::vector<float>& lps = clps_[b];
    ids.clear();
    lps.clear();
    if (t >= lengths_[b]) continue;
    const float* row = Row(b, t);
    // The K best units, best first, the lower id first among equal log-probs, kept in a sorted list of K
    // while the row is read once. With token_min_logp a unit below it is never kept (the K best that
    // pass are the K best overall that pass). NaN is never kept.
    auto offer = [&](int v, float x) {
      const int n = static_cast<int>(ids.size());
      if (std::isnan(x) || (thresh && !(x >= floor)) || (n == K_ && !(x > lps[n - 1]))) return;
      int pos = n;
      while (pos > 0 && lps[pos - 1] < x) --pos;
      if (n < K_) {
        ids.push_back(0);
        lps.push_back(0.0f);
      }
      for (int j = static_cast<int>(ids.size()) - 1; j > pos; --j) {
        ids[j] = ids[j - 1];
        lps[j] = lps[j - 1];
      }
      ids[pos] = v;
      lps[pos] = x;
    };
    int v = 0;
    if (!thresh) {
      for (; v < V_ && static_cast<int>(ids.size()) < K_; ++v) offer(v, row[v]);
    }
    // Most units of a frame cannot enter the list: test 16 at a time against the entry bar (a check the
    // compiler vectorises), and look at single units only in a block where one might.
    constexpr int kBlock = 16;
    for (; v < V_; v += kBlock) {
      const int end = std::min(v + kBlock, V_);
      float bar = thresh ? floor : -std::numeric_limits<float>::infinity();
      if (static_cast<int>(ids.size()) == K_) bar = std::max(bar, lps[K_ - 1]);
      if (end - v == kBlock && !BlockReaches(row + v, bar)) continue;
      for (int j = v; j < end; ++j) offer(j, row[j]);
    }
    if (thresh) {
      // The blank never extends a prefix: with pyctcdecode's rule it is dropped before the search sees it.
      int w = 0;
      for (size_t j = 0; j < ids.size(); ++j) {
        if (ids[j] == opts_.blank) continue;
        ids[w] = ids[j];
        lps[w] = lps[j];
        ++w;
      }
      ids.resize(w);
      lps.resize(w);
    }
  }
}

int PrefixSearch::Query(int t, std::vector<int64_t>* rows, std::vector<int64_t>* cands) {
  rows->clear();
  cands->clear();
  if (n_callbacks_ == 0) return 0;
  Candidates(t);
  size_t width = 0;
  for (int b = 0; b < B_; ++b) {
    if (t < lengths_[b]) width = std::max(width, cids_[b].size());
  }
  if (width == 0) return 0;
  for (int b = 0; b < B_; ++b) {
    if (t >= lengths_[b]) continue;
    for (const Entry& e : beams_[b]) {
      rows->push_back(e.row);
      // The blank is never extended: a safe filler for utterances with fewer candidates.
      for (size_t j = 0; j < width; ++j) cands->push_back(j < cids_[b].size() ? cids_[b][j] : opts_.blank);
    }
  }
  return static_cast<int>(width);
}

void PrefixSearch::Expand(int t, const std::vector<const double*>& cb_scores) {
  Candidates(t);
  if (static_cast<int>(cb_scores.size()) != n_callbacks_ && !(cb_scores.empty())) {
    throw std::invalid_argument("one score array per callback scorer expected");
  }
  int width = 0;
  for (int b = 0; b < B_; ++b) {
    if (t < lengths_[b]) width = std::max(width, static_cast<int>(cids_[b].size()));
  }
  if (n_callbacks_ > 0 && width > 0 && cb_scores.empty()) {
    throw std::invalid_argument("callback scores missing for a frame with candidates");
  }
  frame_ = t;
  new_ext_.clear();
  int row_base = 0;
  for (int b = 0; b < B_; ++b) {
    if (t >= lengths_[b]) continue;
    const int n_rows = static_cast<int>(beams_[b].size());
    ExpandUtterance(b, t, cb_scores, row_base, width);
    row_base += n_rows;
  }
}

void PrefixSearch::ExpandUtterance(int b, int t, const std::vector<const double*>& cb_scores, int row_base,
                                   int width) {
  const float* lp = Row(b, t);
  const double blank = lp[opts_.blank];
  const std::vector<int32_t>& ids = cids_[b];
  const std::vector<float>& lps = clps_[b];
  const int n_cand = static_cast<int>(ids.size());
  const size_t n_sc = slots_.size();
  const std::vector<Entry>& cur = beams_[b];
  const std::vector<double>& pool = pools_[b];

  next_.clear();
  next_pool_.clear();
  ++cur_stamp_;
  auto lookup = [&](int32_t node) -> int32_t {
    if (static_cast<size_t>(node) < stamp_.size() && stamp_[node] == cur_stamp_) return pos_[node];
    return -1;
  };
  auto remember = [&](int32_t node, int32_t idx) {
    if (static_cast<size_t>(node) >= stamp_.size()) {
      const size_t n = std::max<size_t>(parent_.size(), static_cast<size_t>(node) + 1) * 2;
      stamp_.resize(n, 0);
      pos_.resize(n, -1);
    }
    stamp_[node] = cur_stamp_;
    pos_[node] = idx;
  };

  if (prefetch_) {
    // The units a prefix has not been extended by before need native scores: ask for all of this
    // frame's at once, so that their cache misses overlap instead of coming one after another.
    for (const Entry& p : cur) {
      for (int j = 0; j < n_cand; ++j) {
        if (ids[j] == opts_.blank || FindChild(p.node, ids[j]) >= 0) continue;
        for (int s = 0, k = 0; s < static_cast<int>(n_sc); ++s) {
          if (!slots_[s].native) continue;
          slots_[s].native->Prefetch(nstate_[static_cast<size_t>(p.node) * n_native_ + k++], ids[j]);
        }
      }
    }
  }
  for (size_t i = 0; i < cur.size(); ++i) {
    const Entry p = cur[i];
    // Staying on y: a blank, or a repeat of y's last unit without a blank in between.
    int32_t idx = lookup(p.node);
    if (idx < 0) {
      idx = static_cast<int32_t>(next_.size());
      next_.push_back(
          Entry{p.node, p.row, kNegInf, kNegInf, p.lm, 0.0, static_cast<int32_t>(next_pool_.size()), p.held});
      next_pool_.insert(next_pool_.end(), pool.begin() + p.each, pool.begin() + p.each + n_sc);
      remember(p.node, idx);
    }
    const double p_all = LogAdd(p.p_b, p.p_nb);
    next_[idx].p_b = LogAdd(next_[idx].p_b, p_all + blank);
    const bool is_root = parent_[p.node] < 0;
    const int32_t last = is_root ? -1 : unit_[p.node];
    if (!is_root) next_[idx].p_nb = LogAdd(next_[idx].p_nb, p.p_nb + static_cast<double>(lp[last]));
    const size_t row = static_cast<size_t>(row_base) + i;
    for (int j = 0; j < n_cand; ++j) {
      const int32_t c = ids[j];
      if (c == opts_.blank) continue;
      const int32_t ext = Child(p.node, c);
      int32_t q = lookup(ext);
      if (q < 0) {
        q = static_cast<int32_t>(next_.size());
        const int32_t off = static_cast<int32_t>(next_pool_.size());
        double fused = 0.0;
        const size_t nbase = static_cast<size_t>(ext) * n_native_;
        for (size_t s = 0; s < n_sc; ++s) {
          double v;
          if (native_of_slot_[s] >= 0) {
            v = nscore_[nbase + native_of_slot_[s]];
          } else {
            v = cb_scores[callback_of_slot_[s]][row * width + j];
          }
          fused += slots_[s].weight * v;
          next_pool_.push_back(pool[p.each + s] + v);
        }
        next_.push_back(Entry{ext, -1, kNegInf, kNegInf, p.lm + fused, 0.0, off, holds_ ? nheld_[ext] : 0.0});
        remember(ext, q);
        new_ext_.push_back(NewExt{b, ext, p.row, c});
      }
      // After the same unit, only a blank-ended path may start a new copy of it.
      next_[q].p_nb = LogAdd(next_[q].p_nb, (c == last ? p.p_b : p_all) + static_cast<double>(lps[j]));
    }
  }

  // Keep the beam best (stable: ties keep the order prefixes were made in, as Python's sorted does).
  for (Entry& e : next_) e.total = LogAdd(e.p_b, e.p_nb) + e.lm;
  const int n = static_cast<int>(next_.size());
  int keep = n;
  if (holds_) {
    keep = SelectWithHotwordBeam(n);
  } else {
    order_.resize(n);
    for (int i = 0; i < n; ++i) order_[i] = i;
    if (n > opts_.beam) {
      keep = opts_.beam;
      // NaN (an LM that returned NaN) ranks last, so the order stays a strict weak ordering.
      auto key = [&](int32_t a) { return std::isnan(next_[a].total) ? kNegInf : next_[a].total; };
      auto better = [&](int32_t a, int32_t c) {
        const double ka = key(a), kc = key(c);
        if (ka != kc) return ka > kc;
        return a < c;
      };
      std::partial_sort(order_.begin(), order_.begin() + keep, order_.end(), better);
    }
  }
  double floor = kNegInf;
  if (holds_) {
    // SelectWithHotwordBeam applied beam_prune_logp to the main beam already.
  } else if (opts_.use_beam_prune_logp && keep > 1) {
    double best = next_[order_[0]].total;
    for (int i = 1; i < keep; ++i) best = std::max(best, next_[order_[i]].total);
    floor = best - opts_.beam_prune_logp;
  }
  std::vector<Entry>& out = beams_[b];
  std::vector<double>& out_pool = pools_[b];
  out.clear();
  out_pool.clear();
  for (int i = 0; i < keep; ++i) {
    Entry e = next_[order_[i]];
    if (!holds_ && opts_.use_beam_prune_logp && keep > 1 && !(e.total >= floor)) continue;
    const int32_t off = static_cast<int32_t>(out_pool.size());
    out_pool.insert(out_pool.end(), next_pool_.begin() + e.each, next_pool_.begin() + e.each + n_sc);
    e.each = off;
    if (static_cast<size_t>(e.node) >= alive_.size()) {
      alive_.resize((e.node + 1) * 2, -1);
      alive_pos_.resize((e.node + 1) * 2, -1);
    }
    alive_[e.node] = t;
    alive_pos_[e.node] = static_cast<int32_t>(out.size());
    out.push_back(e);
  }
  if (opts_.recombine && out.size() > 1) Recombine(b);
}

// order_[0 .. keep): of the ``beam`` slots, max(1, beam - hotword_beam) go to the best by total - held;
// up to hotword_beam of the rest that hold a partial match take the next slots, best by total; slots they
// leave free go to the next best by total - held. beam_prune_logp applies to the slots ranked by total - held.
// Ties keep creation order. Returns keep; the hotword entries come last.
int PrefixSearch::SelectWithHotwordBeam(int n) {
  auto safe = [](double x) { return std::isnan(x) ? kNegInf : x; };
  const int n_main = std::min(n, std::max(1, opts_.beam - opts_.hotword_beam));
  const size_t lane_room = static_cast<size_t>(std::min(opts_.hotword_beam, opts_.beam - n_main));
  // One pass in creation order keeps, each in a small sorted list (an entry goes after the equal keys already
  // there: ties keep creation order, as a stable sort), the best beam + hotword_beam entries by total - held,
  // and the best lane_room + n_main by total of those that hold a partial match. Only those places are ever
  // read below: the main slots, free slots filled past at most hotword_beam lane entries, and the lane's
  // best lane_room outside the main slots, which are among the first lane_room + n_main of its list. So this
  // is the selection of two full sorts.
  const size_t cap = static_cast<size_t>(std::min(n, opts_.beam + opts_.hotword_beam));
  const size_t lane_cap = lane_room > 0 ? lane_room + static_cast<size_t>(n_main) : 0;
  // Once a list is full an entry must beat its last key, ``bar`` (a local: the common rejection is one
  // compare); until then every entry goes in.
  auto insert = [](std::vector<std::pair<double, int32_t>>& top, size_t room, double& bar, double key, int32_t i) {
    if (top.size() == room) top.pop_back();
    size_t pos = top.size();
    top.emplace_back(key, i);
    for (; pos > 0 && top[pos - 1].first < key; --pos) top[pos] = top[pos - 1];
    top[pos] = {key, i};
    if (top.size() == room) bar = top.back().first;
  };
  top_.clear();
  lane_top_.clear();
  double top_bar = kNegInf, lane_bar = kNegInf;
  bool top_open = cap > 0, lane_open = lane_cap > 0;  // not yet full
  bool any_held = false;
  for (int i = 0; i < n; ++i) {
    const Entry& e = next_[i];
    const double key = safe(e.total - e.held);
    if (key > top_bar || top_open) {
      insert(top_, cap, top_bar, key, i);
      top_open = top_.size() < cap;
    }
    if (e.held > 0.0) {
      any_held = true;
      const double lane_key = safe(e.total);
      if (lane_cap > 0 && (lane_key > lane_bar || lane_open)) {
        insert(lane_top_, lane_cap, lane_bar, lane_key, i);
        lane_open = lane_top_.size() < lane_cap;
      }
    }
  }
  order_.resize(std::max<size_t>(order_.size(), cap));
  if (!any_held) {  // no partial match (short lists, most frames): the beam best by total - held
    const int kept = std::min(n, opts_.beam);
    for (int i = 0; i < kept; ++i) order_[i] = top_[i].second;
    return PruneSettled(kept);
  }
  auto in_main = [&](int32_t i) {
    for (int k = 0; k < n_main; ++k) {
      if (top_[k].second == i) return true;
    }
    return false;
  };
  // The lane: partial matches outside the main slots, the best lane_room by total (ties by creation order).
  size_t w = 0;
  for (size_t k = 0; k < lane_top_.size() && w < lane_room; ++k) {
    if (!in_main(lane_top_[k].second)) lane_top_[w++] = lane_top_[k];
  }
  lane_top_.resize(w);
  auto in_lane = [&](int32_t i) {
    for (const auto& x : lane_top_) {
      if (x.second == i) return true;
    }
    return false;
  };
  // Main slots, then the free slots filled in total - held order (the lane's entries skipped).
  int kept = 0;
  for (; kept < n_main; ++kept) order_[kept] = top_[kept].second;
  const int room = opts_.beam - static_cast<int>(lane_top_.size());
  for (size_t k = static_cast<size_t>(n_main); k < top_.size() && kept < room; ++k) {
    if (!in_lane(top_[k].second)) order_[kept++] = top_[k].second;
  }
  kept = PruneSettled(kept);
  for (const auto& x : lane_top_) order_[kept++] = x.second;
  return kept;
}

// order_[0 .. kept), ranked by total - held, less those more than beam_prune_logp below the first; returns how
// many are left (in order).
int PrefixSearch::PruneSettled(int kept) {
  if (!opts_.use_beam_prune_logp || kept <= 1) return kept;
  const double best = next_[order_[0]].total - next_[order_[0]].held;
  const double floor = (std::isnan(best) ? kNegInf : best) - opts_.beam_prune_logp;
  int w = 0;
  for (int i = 0; i < kept; ++i) {
    if (next_[order_[i]].total - next_[order_[i]].held >= floor) order_[w++] = order_[i];
  }
  return w;
}

bool PrefixSearch::SameFuture(int32_t a, int32_t c) const {
  if (unit_[a] != unit_[c]) return false;
  const size_t ia = static_cast<size_t>(a) * n_native_, ic = static_cast<size_t>(c) * n_native_;
  for (int k = 0; k < n_native_; ++k) {
    if (nstate_[ia + k] != nstate_[ic + k]) return false;
  }
  return true;
}

void PrefixSearch::Recombine(int b) {
  std::vector<Entry>& beam = beams_[b];
  const int n = static_cast<int>(beam.size());
  // Group the prefixes by a hash of (last unit, native states); compare exactly within a group only.
  keyed_.clear();
  for (int i = 0; i < n; ++i) {
    const int32_t node = beam[i].node;
    uint64_t h = MixHash(static_cast<uint32_t>(unit_[node]));
    for (int k = 0; k < n_native_; ++k) {
      h = MixHash(h ^ static_cast<uint32_t>(nstate_[static_cast<size_t>(node) * n_native_ + k]));
    }
    keyed_.emplace_back(h, i);
  }
  std::sort(keyed_.begin(), keyed_.end());
  drop_.assign(n, 0);
  bool any = false;
  for (int s = 0; s < n;) {
    int e = s + 1;
    while (e < n && keyed_[e].first == keyed_[s].first) ++e;
    for (int x = s; x < e && e - s > 1; ++x) {
      const int i = keyed_[x].second;
      const Entry& a = beam[i];
      for (int y = s; y < e; ++y) {
        const int j = keyed_[y].second;
        const Entry& c = beam[j];
        // c has the same future and is at least as good both blank- and unit-ended: a can never overtake it.
        if (j != i && SameFuture(a.node, c.node) && c.p_b + c.lm >= a.p_b + a.lm && c.p_nb + c.lm >= a.p_nb + a.lm &&
            (c.total > a.total || (c.total == a.total && j < i))) {
          drop_[i] = 1;
          any = true;
          break;
        }
      }
    }
    s = e;
  }
  if (!any) return;
  const size_t n_sc = slots_.size();
  std::vector<double>& pool = pools_[b];
  int w = 0;
  for (int i = 0; i < n; ++i) {
    if (drop_[i]) continue;
    Entry e = beam[i];
    // Entries only move forward, so their pool slices can be compacted in place.
    std::copy(pool.begin() + e.each, pool.begin() + e.each + n_sc, pool.begin() + static_cast<size_t>(w) * n_sc);
    e.each = static_cast<int32_t>(static_cast<size_t>(w) * n_sc);
    alive_pos_[e.node] = w;
    beam[w++] = e;
  }
  beam.resize(w);
  pool.resize(static_cast<size_t>(w) * n_sc);
}

bool PrefixSearch::Rebuild(std::vector<int64_t>* kept_rows, std::vector<int64_t>* parents,
                           std::vector<int64_t>* units) {
  kept_rows->clear();
  parents->clear();
  units->clear();
  if (n_callbacks_ == 0 || new_ext_.empty()) return false;  // no prefix was added: rows stay valid
  // Kept prefixes keep their state (rows first, in beam order); new ones advance a parent's.
  std::vector<Entry*> grown;
  for (const NewExt& x : new_ext_) {
    if (static_cast<size_t>(x.node) >= alive_.size() || alive_[x.node] != frame_) continue;
    Entry& e = beams_[x.utt][alive_pos_[x.node]];
    if (e.row >= 0) continue;
    parents->push_back(x.parent_row);
    units->push_back(x.unit);
    grown.push_back(&e);
  }
  int32_t row = 0;
  for (int b = 0; b < B_; ++b) {
    for (Entry& e : beams_[b]) {
      if (e.row >= 0) {
        kept_rows->push_back(e.row);
        e.row = row++;
      }
    }
  }
  for (Entry* e : grown) e->row = row++;
  return true;
}

void PrefixSearch::Run() {
  if (n_callbacks_ > 0) throw std::logic_error("Run() is for searches without callback scorers");
  const std::vector<const double*> none;
  for (int t = 0; t < n_frames_; ++t) Expand(t, none);
}

std::vector<int64_t> PrefixSearch::FinalRows() const {
  std::vector<int64_t> rows;
  for (int b = 0; b < B_; ++b) {
    for (const Entry& e : beams_[b]) rows.push_back(e.row);
  }
  return rows;
}

std::vector<std::vector<Result>> PrefixSearch::Finish(const std::vector<const double*>& cb_ends) {
  if (n_callbacks_ > 0 && static_cast<int>(cb_ends.size()) != n_callbacks_) {
    throw std::invalid_argument("one final-score array per callback scorer expected");
  }
  const size_t n_sc = slots_.size();
  std::vector<std::vector<Result>> out(B_);
  size_t i = 0;
  for (int b = 0; b < B_; ++b) {
    std::vector<Result> finals;
    for (const Entry& e : beams_[b]) {
      Result r;
      for (int32_t y = e.node; parent_[y] >= 0; y = parent_[y]) r.units.push_back(unit_[y]);
      std::reverse(r.units.begin(), r.units.end());
      double weighted = 0.0;
      for (size_t s = 0; s < n_sc; ++s) {
        double end;
        if (native_of_slot_[s] >= 0) {
          end = slots_[s].native->Final(nstate_[static_cast<size_t>(e.node) * n_native_ + native_of_slot_[s]]);
        } else {
          end = cb_ends[callback_of_slot_[s]][i];
        }
        weighted += slots_[s].weight * end;
        r.lm_each.push_back(pools_[b][e.each + s] + end);
      }
      ++i;
      r.am = LogAdd(e.p_b, e.p_nb);
      r.score = r.am + (e.lm + weighted);
      finals.push_back(std::move(r));
    }
    std::stable_sort(finals.begin(), finals.end(), [](const Result& a, const Result& c) { return a.score > c.score; });
    if (static_cast<int>(finals.size()) > opts_.nbest) finals.resize(opts_.nbest);
    out[b] = std::move(finals);
  }
  return out;
}

void PrefixSearch::AppendFrames(const float* log_probs, int n) {
  if (B_ != 1) throw std::logic_error("AppendFrames: a streaming search has one utterance");
  if (n < 0) throw std::invalid_argument("AppendFrames: a negative number of frames");
  if (frame_ + 1 < T_) throw std::logic_error("AppendFrames: expand the frames already given first");
  owned_.clear();  // every frame given so far is expanded
  base_frame_ = T_;
  owned_.assign(log_probs, log_probs + static_cast<size_t>(n) * V_);
  log_probs_ = owned_.data();
  T_ += n;
  lengths_[0] = T_;
  n_frames_ = T_;
  cand_frame_ = -1;
}

std::vector<Result> PrefixSearch::Partial(int b, int nbest) const {
  if (b < 0 || b >= B_) throw std::out_of_range("Partial: no such utterance");
  const std::vector<Entry>& beam = beams_[b];
  std::vector<int32_t> idx(beam.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = static_cast<int32_t>(i);
  std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t c) { return beam[a].total > beam[c].total; });
  if (static_cast<int>(idx.size()) > nbest) idx.resize(std::max(0, nbest));
  const size_t n_sc = slots_.size();
  std::vector<Result> out;
  for (int32_t i : idx) {
    const Entry& e = beam[i];
    Result r;
    for (int32_t y = e.node; parent_[y] >= 0; y = parent_[y]) r.units.push_back(unit_[y]);
    std::reverse(r.units.begin(), r.units.end());
    r.am = LogAdd(e.p_b, e.p_nb);
    r.score = r.am + e.lm;
    for (size_t s = 0; s < n_sc; ++s) r.lm_each.push_back(pools_[b][e.each + s]);
    out.push_back(std::move(r));
  }
  return out;
}

void PrefixSearch::Compact() {
  std::vector<int32_t> remap(parent_.size(), -1);
  std::vector<int32_t> parent, unit, nstate;
  std::vector<float> nscore;
  std::vector<double> nheld;
  auto copy_node = [&](int32_t y, int32_t new_parent) {
    remap[y] = static_cast<int32_t>(parent.size());
    parent.push_back(new_parent);
    unit.push_back(unit_[y]);
    const size_t base = static_cast<size_t>(y) * n_native_;
    nstate.insert(nstate.end(), nstate_.begin() + base, nstate_.begin() + base + n_native_);
    nscore.insert(nscore.end(), nscore_.begin() + base, nscore_.begin() + base + n_native_);
    if (holds_) nheld.push_back(nheld_[y]);
  };
  for (int b = 0; b < B_; ++b) copy_node(b, -1);  // the roots keep ids 0 .. B-1
  std::vector<int32_t> path;
  for (int b = 0; b < B_; ++b) {
    for (Entry& e : beams_[b]) {
      path.clear();
      for (int32_t y = e.node; remap[y] < 0; y = parent_[y]) path.push_back(y);
      for (auto it = path.rbegin(); it != path.rend(); ++it) copy_node(*it, remap[parent_[*it]]);
      e.node = remap[e.node];
    }
  }
  parent_.swap(parent);
  unit_.swap(unit);
  nstate_.swap(nstate);
  nscore_.swap(nscore);
  nheld_.swap(nheld);
  first_child_.assign(parent_.size(), -1);
  next_sibling_.assign(parent_.size(), -1);
  n_children_.assign(parent_.size(), 0);
  many_children_ = FlatMap<int32_t>();
  for (size_t i = static_cast<size_t>(B_); i < parent_.size(); ++i) Link(parent_[i], static_cast<int32_t>(i));
  // Node-indexed scratch: stale marks must not match a reused id.
  stamp_.assign(stamp_.size(), 0);
  alive_.assign(alive_.size(), -1);
  for (int b = 0; b < B_; ++b) {
    for (size_t i = 0; i < beams_[b].size(); ++i) {
      const int32_t y = beams_[b][i].node;
      if (static_cast<size_t>(y) >= alive_.size()) {
        alive_.resize((y + 1) * 2, -1);
        alive_pos_.resize((y + 1) * 2, -1);
      }
      alive_[y] = frame_;
      alive_pos_[y] = static_cast<int32_t>(i);
    }
  }
  new_ext_.clear();
}

}  // namespace asrkit

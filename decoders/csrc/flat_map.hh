// An open-addressing hash map from 64-bit keys to small values (linear probing, power-of-two capacity).
//
// The search looks up (prefix, unit) pairs millions of times per second; std::unordered_map allocates a
// node per entry and chases a pointer per lookup, this map does neither. Keys are any uint64 except
// kEmpty, which marks a free slot.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace asrkit {

inline uint64_t MixHash(uint64_t x) {
  // splitmix64 finaliser: spreads keys such as (id << 32 | unit) over all bits of the slot index.
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

inline uint64_t PairKey(uint32_t a, uint32_t b) { return (static_cast<uint64_t>(a) << 32) | b; }

template <typename V>
class FlatMap {
 public:
  static constexpr uint64_t kEmpty = ~0ULL;

  explicit FlatMap(size_t capacity = 64) { Rehash(RoundUp(capacity)); }

  // The value of ``key``, or nullptr.
  const V* Find(uint64_t key) const {
    size_t i = MixHash(key) & mask_;
    while (true) {
      const Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }

  // Starts loading the slot of ``key`` into the cache (a later Find or Insert then does not wait for memory).
  void Prefetch(uint64_t key) const { __builtin_prefetch(&slots_[MixHash(key) & mask_]); }

  // Inserts ``key`` -> ``value`` (the key must not be present).
  void Insert(uint64_t key, const V& value) {
    if ((size_ + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
    size_t i = MixHash(key) & mask_;
    while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
    slots_[i] = Slot{key, value};
    ++size_;
  }

  size_t size() const { return size_; }

  void Clear() {
    if (size_ == 0) return;
    for (Slot& s : slots_) s.key = kEmpty;
    size_ = 0;
  }

 private:
  // Key and value side by side: a lookup touches one cache line, not two.
  struct Slot {
    uint64_t key = kEmpty;
    V value{};
  };

  static size_t RoundUp(size_t n) {
    size_t c = 16;
    while (c < n) c <<= 1;
    return c;
  }

  void Rehash(size_t capacity) {
    std::vector<Slot> old(capacity);
    old.swap(slots_);
    mask_ = capacity - 1;
    size_ = 0;
    for (const Slot& s : old) {
      if (s.key != kEmpty) Insert(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// Gives each distinct value of T a dense id (0, 1, ...), so that search states are small integers.
// ``Hash`` maps a T to uint64; T needs operator==.
template <typename T, typename Hash>
class Interner {
 public:
  Interner() { Rehash(64); }

  int32_t Intern(const T& x) {
    if ((items_.size() + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
    size_t i = MixHash(Hash()(x)) & mask_;
    while (slots_[i] >= 0) {
      if (items_[slots_[i]] == x) return slots_[i];
      i = (i + 1) & mask_;
    }
    const int32_t id = static_cast<int32_t>(items_.size());
    items_.push_back(x);
    slots_[i] = id;
    return id;
  }

  const T& operator[](int32_t id) const { return items_[id]; }
  size_t size() const { return items_.size(); }

  void Clear() {
    items_.clear();
    std::fill(slots_.begin(), slots_.end(), -1);
  }

 private:
  void Rehash(size_t capacity) {
    slots_.assign(capacity, -1);
    mask_ = capacity - 1;
    for (size_t id = 0; id < items_.size(); ++id) {
      size_t i = MixHash(Hash()(items_[id])) & mask_;
      while (slots_[i] >= 0) i = (i + 1) & mask_;
      slots_[i] = static_cast<int32_t>(id);
    }
  }

  std::vector<T> items_;
  std::vector<int32_t> slots_;
  size_t mask_ = 0;
};

}  // namespace asrkit

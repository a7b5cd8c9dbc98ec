// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/cascade/cache_key.hpp>
#include <lmnet/cascade/perceptual_hash.hpp>
#include <lmnet/core/error.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace lmnet {

struct cache_options {
  /// Most entries held (up to 2^30); the oldest unused ones are evicted (CLOCK) to make room.
  std::size_t capacity = 4096;
  /// Most bytes the cache may allocate (0: no limit beyond `capacity`). The capacity shrinks to
  /// fit; `memory_bytes()` says what was allocated.
  std::size_t memory_budget = 0;
  /// Perceptual keys: the largest Hamming distance between two hashes that still match.
  int radius = 0;
  /// Perceptual keys: a match must also have thumbnails within this mean absolute difference
  /// (grey levels). Negative: hashes alone decide, as in the dual-CNN paper's memory.
  float max_thumbnail_distance = -1.0f;
};

/// Counts since construction or `reset_stats()`. `collisions` counts lookups that found an entry
/// with the same index hash but a different input: for exact keys, a 64-bit hash collision (told
/// by the check hash); for perceptual keys, a hash within the radius whose thumbnail disagreed.
struct cache_stats {
  std::uint64_t lookups = 0;
  std::uint64_t hits = 0;
  std::uint64_t near_hits = 0;  // hits on a different but near input (perceptual keys only)
  std::uint64_t misses = 0;
  std::uint64_t insertions = 0;
  std::uint64_t evictions = 0;
  std::uint64_t collisions = 0;

  double hit_rate() const {
    return lookups == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(lookups);
  }
};

/// A bounded, thread-safe map from input keys to results (the memory of the dual-CNN paper, with
/// a size limit): identical inputs, or with perceptual keys near-identical ones, skip the networks.
///
///     lmnet::result_cache<lmnet::prediction> memory({.capacity = 10000});
///     const lmnet::exact_key key = lmnet::make_exact_key(std::as_bytes(std::span(raw_image)));
///     if (auto hit = memory.find(key)) return *hit;
///     memory.insert(key, answer);
///
/// All memory is allocated by the constructor. Eviction is CLOCK (second chance), so a lookup only
/// sets an atomic "recently used" bit: lookups run concurrently under a shared lock, insertions
/// take it exclusively. Perceptual lookups with a radius scan every entry's 64-bit hash once, a
/// vectorised block at a time, confirm the candidates by thumbnail, and answer with the one whose
/// thumbnail is nearest.
template <class Value, CacheKey Key = exact_key>
class result_cache {
 public:
  using value_type = Value;
  using key_type = Key;

  explicit result_cache(cache_options options = {}) : options_(options) {
    if (options.radius < 0 || options.radius > 64) {
      throw error("result_cache: radius " + std::to_string(options.radius) + " outside 0..64");
    }
    if (std::isnan(options.max_thumbnail_distance)) {
      throw error("result_cache: max_thumbnail_distance is NaN");
    }
    if (!Key::perceptual && (options.radius != 0 || options.max_thumbnail_distance >= 0.0f)) {
      throw error("result_cache: radius and thumbnail distance need perceptual keys");
    }
    std::size_t capacity = std::min(options.capacity, std::size_t{1} << 30);
    if (options.memory_budget != 0 && bytes_for(capacity) > options.memory_budget) {
      // The largest capacity that fits the budget (bytes grow with capacity): binary search.
      std::size_t fits = 0, too_big = capacity;
      while (too_big - fits > 1) {
        const std::size_t middle = fits + (too_big - fits) / 2;
        (bytes_for(middle) <= options.memory_budget ? fits : too_big) = middle;
      }
      capacity = fits;
    }
    if (capacity == 0) {
      throw error("result_cache: a capacity of " + std::to_string(options.capacity) +
                  " entries and a budget of " + std::to_string(options.memory_budget) +
                  " bytes hold no entry (one needs about " + std::to_string(bytes_for(1)) + ")");
    }
    capacity_ = capacity;
    keys_.resize(capacity);
    values_.resize(capacity);
    hashes_.resize(capacity);
    occupied_.resize(capacity);
    referenced_ = std::make_unique<std::atomic<std::uint8_t>[]>(capacity);
    table_.resize(table_size(capacity));
  }

  /// The value stored under a matching key, if any; marks the entry recently used.
  std::optional<Value> find(const Key& key) {
    std::shared_lock lock(mutex_);
    count(lookups_);
    bool collided = false;
    std::size_t slot = npos;
    if constexpr (Key::perceptual) {
      slot = options_.radius > 0 ? nearest(key, collided) : indexed(key, collided);
    } else {
      slot = indexed(key, collided);
    }
    if (slot == npos) {
      count(misses_);
      if (collided) count(collisions_);
      return std::nullopt;
    }
    referenced_[slot].store(1, std::memory_order_relaxed);
    count(hits_);
    if (keys_[slot].check != key.check) count(near_hits_);
    return values_[slot];
  }

  /// Stores `value` under `key`, replacing the value of an identical key, evicting an entry
  /// when full.
  void insert(const Key& key, const Value& value) {
    std::unique_lock lock(mutex_);
    count(insertions_);
    for (std::size_t i = home(key.hash);; i = (i + 1) & (table_.size() - 1)) {
      const std::uint32_t entry = table_[i];
      if (entry == 0) break;
      const std::size_t slot = entry - 1;
      if (hashes_[slot] == key.hash && keys_[slot].check == key.check) {
        keys_[slot] = key;
        values_[slot] = value;
        referenced_[slot].store(1, std::memory_order_relaxed);
        return;
      }
    }
    const std::size_t slot = free_slot();
    keys_[slot] = key;
    values_[slot] = value;
    hashes_[slot] = key.hash;
    occupied_[slot] = 1;
    referenced_[slot].store(0, std::memory_order_relaxed);
    std::size_t i = home(key.hash);
    while (table_[i] != 0) i = (i + 1) & (table_.size() - 1);
    table_[i] = static_cast<std::uint32_t>(slot + 1);
    ++size_;
  }

  void clear() {
    std::unique_lock lock(mutex_);
    std::fill(occupied_.begin(), occupied_.end(), std::uint8_t{0});
    std::fill(table_.begin(), table_.end(), std::uint32_t{0});
    for (std::size_t i = 0; i < capacity_; ++i) referenced_[i].store(0, std::memory_order_relaxed);
    size_ = 0;
    hand_ = 0;
    used_ = 0;
  }

  std::size_t size() const {
    std::shared_lock lock(mutex_);
    return size_;
  }
  std::size_t capacity() const { return capacity_; }
  const cache_options& options() const { return options_; }

  /// Bytes allocated for entries and the index.
  std::size_t memory_bytes() const { return bytes_for(capacity_); }

  cache_stats stats() const {
    auto get = [](const std::atomic<std::uint64_t>& c) {
      return c.load(std::memory_order_relaxed);
    };
    return {get(lookups_),    get(hits_),      get(near_hits_), get(misses_),
            get(insertions_), get(evictions_), get(collisions_)};
  }
  void reset_stats() {
    for (auto* c :
         {&lookups_, &hits_, &near_hits_, &misses_, &insertions_, &evictions_, &collisions_}) {
      c->store(0, std::memory_order_relaxed);
    }
  }

 private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  /// Open-addressing index of at least twice the capacity, a power of two, so probes stay short.
  static std::size_t table_size(std::size_t capacity) { return std::bit_ceil(2 * capacity); }

  static std::size_t bytes_for(std::size_t capacity) {
    const std::size_t per_entry = sizeof(Key) + sizeof(Value) + sizeof(std::uint64_t) + 2;
    return capacity * per_entry + table_size(capacity) * sizeof(std::uint32_t);
  }

  std::size_t home(std::uint64_t hash) const {
    // Fibonacci hashing spreads perceptual hashes, whose low bits are far from uniform.
    return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ull) >> 32) & (table_.size() - 1);
  }

  static void count(std::atomic<std::uint64_t>& counter) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }

  /// How well an entry matches a key, lower being better: its thumbnail's difference (when
  /// thumbnails are checked), its hash distance, and the identical input before a near one.
  struct match_rank {
    int thumbnail_difference = 0;
    int distance = 0;
    bool near = false;

    friend auto operator<=>(const match_rank&, const match_rank&) = default;
  };

  /// Considers `slot`, whose hash is `distance` bits from the key's, as a perceptual match: a
  /// candidate whose thumbnail disagrees is a collision, a confirmed one replaces `best` if nearer.
  void consider(std::size_t slot, int distance, const Key& key, std::size_t& best,
                match_rank& best_rank, bool& collided) const {
    match_rank rank{0, distance, keys_[slot].check != key.check};
    if (options_.max_thumbnail_distance >= 0.0f) {
      rank.thumbnail_difference = detail::thumbnail_sad(keys_[slot].view, key.view);
      const float mean = static_cast<float>(rank.thumbnail_difference) /
                         static_cast<float>(key.view.pixels.size());
      if (mean > options_.max_thumbnail_distance) {
        collided = true;
        return;
      }
    }
    if (best == npos || rank < best_rank) {
      best = slot;
      best_rank = rank;
    }
  }

  /// The entry whose hash equals the key's (exact keys, or perceptual keys with radius 0).
  std::size_t indexed(const Key& key, bool& collided) const {
    std::size_t best = npos;
    match_rank best_rank;
    for (std::size_t i = home(key.hash);; i = (i + 1) & (table_.size() - 1)) {
      const std::uint32_t entry = table_[i];
      if (entry == 0) break;
      const std::size_t slot = entry - 1;
      if (hashes_[slot] != key.hash) continue;
      if constexpr (Key::perceptual) {
        // Several pictures may share a perceptual hash: the nearest confirmed one answers.
        consider(slot, 0, key, best, best_rank, collided);
      } else {
        if (keys_[slot].check == key.check) return slot;
        collided = true;
      }
    }
    return best;
  }

  /// The best confirmed entry whose hash is within the radius (perceptual keys). The hashes are
  /// scanned a block at a time: a block's smallest distance is a reduction that vectorises (at
  /// -O2 too, with the block's length fixed), and only the few blocks within the radius are read
  /// entry by entry.
  std::size_t nearest(const Key& key, bool& collided) const {
    constexpr std::size_t block = 32;
    const int radius = options_.radius;
    std::size_t best = npos;
    match_rank best_rank;
    auto read = [&](std::size_t begin, std::size_t end) {
      for (std::size_t slot = begin; slot < end; ++slot) {
        const int distance = hamming_distance(hashes_[slot], key.hash);
        if (distance <= radius && occupied_[slot])
          consider(slot, distance, key, best, best_rank, collided);
      }
    };
    std::size_t begin = 0;
    for (; begin + block <= used_; begin += block) {
      int nearest_in_block = 64;
      for (std::size_t i = 0; i < block; ++i)
        nearest_in_block =
            std::min(nearest_in_block, hamming_distance(hashes_[begin + i], key.hash));
      if (nearest_in_block <= radius) read(begin, begin + block);
    }
    read(begin, used_);
    return best;
  }

  /// A free slot, evicting with CLOCK when full: entries used since the hand last passed get a
  /// second chance (their bit is cleared), the first one not used is evicted.
  std::size_t free_slot() {
    if (size_ < capacity_) {
      while (occupied_[hand_]) hand_ = (hand_ + 1) % capacity_;
      const std::size_t slot = hand_;
      hand_ = (hand_ + 1) % capacity_;
      used_ = std::max(used_, slot + 1);
      return slot;
    }
    while (referenced_[hand_].exchange(0, std::memory_order_relaxed) != 0) {
      hand_ = (hand_ + 1) % capacity_;
    }
    const std::size_t victim = hand_;
    hand_ = (hand_ + 1) % capacity_;
    erase_from_index(victim);
    occupied_[victim] = 0;
    --size_;
    count(evictions_);
    return victim;
  }

  /// Removes a slot from the linear-probing index, shifting later entries of its run back so that
  /// every entry stays reachable from its home position.
  void erase_from_index(std::size_t slot) {
    const std::size_t mask = table_.size() - 1;
    std::size_t i = home(hashes_[slot]);
    while (table_[i] != slot + 1) i = (i + 1) & mask;
    for (std::size_t j = (i + 1) & mask; table_[j] != 0; j = (j + 1) & mask) {
      const std::size_t h = home(hashes_[table_[j] - 1]);
      // Move entry j into the hole at i unless its home lies cyclically in (i, j].
      const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
      if (!stays) {
        table_[i] = table_[j];
        i = j;
      }
    }
    table_[i] = 0;
  }

  cache_options options_;
  std::size_t capacity_ = 0;
  std::vector<Key> keys_;
  std::vector<Value> values_;
  std::vector<std::uint64_t> hashes_;  // a copy of keys_[i].hash, contiguous for radius scans
  std::vector<std::uint8_t> occupied_;
  std::unique_ptr<std::atomic<std::uint8_t>[]> referenced_;
  std::vector<std::uint32_t> table_;  // slot + 1, 0 for empty
  std::size_t size_ = 0;
  std::size_t hand_ = 0;
  std::size_t used_ = 0;  // slots below this have held an entry: the extent of radius scans
  mutable std::shared_mutex mutex_;
  std::atomic<std::uint64_t> lookups_{0}, hits_{0}, near_hits_{0}, misses_{0}, insertions_{0},
      evictions_{0}, collisions_{0};
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
// The result memories the cascade experiment compares (docs/cascade.md): which key each files
// images under, the probing alternative, and the recorded answers that let a memory's own work be
// timed apart from the models'.
#pragma once

#include "datasets.hpp"

#include <lmnet/cascade/cache.hpp>
#include <lmnet/cascade/cache_key.hpp>
#include <lmnet/cascade/cached.hpp>
#include <lmnet/core/error.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace lmnet::tools {

/// What a memory files an image under.
enum class memory_key {
  exact,       // its bytes (two XXH64s)
  perceptual,  // the frame's dHash and thumbnail (perceptual_key_of)
  probes,      // the same, looked up at the image as it is and at its eight one-pixel moves
  centred,     // the hash and thumbnail of the window centred on its brightness (centred_key_of)
};

/// One memory of the experiment, named as its configuration is in the results.
struct memory_setup {
  std::string config;
  memory_key key = memory_key::exact;
  cache_options cache{};
  dhash_options hash{};
  cached_options keep{};
};

/// A memory in front of `Inner` with one key per image: lmnet::cached itself.
template <class Inner, class Key, class KeyOf>
class keyed_memory {
 public:
  keyed_memory(Inner& inner, const memory_setup& setup, KeyOf key_of)
      : cache_(setup.cache), cached_(inner, cache_, key_of, setup.keep) {}

  /// The answer for a raw image; the models' input is not needed (the experiment's models replay
  /// answers measured before).
  prediction classify(std::span<const std::uint8_t> raw) {
    return cached_.classify(std::span<const float>(), raw);
  }
  bool last_hit() const { return cached_.last_hit(); }
  cache_stats stats() const { return cache_.stats(); }

 private:
  result_cache<prediction, Key> cache_;
  cached<Inner, Key, KeyOf> cached_;
};

/// The probing alternative: the frame's perceptual key is looked up for the image as it is, then
/// for the image moved back by one pixel in each of the eight directions; only the image as it is
/// gets stored. A copy moved by one pixel finds its original at the cost of up to nine keys and
/// lookups per image (moves of two pixels would need twenty-five).
template <class Inner>
class probing_memory {
 public:
  probing_memory(Inner& inner, const memory_setup& setup)
      : inner_(&inner), cache_(setup.cache), hash_(setup.hash), keep_(setup.keep) {}

  prediction classify(std::span<const std::uint8_t> raw) {
    if (raw.size() != image_bytes) {
      throw error("probing_memory: " + std::to_string(raw.size()) + " bytes, expected " +
                  std::to_string(image_bytes));
    }
    // The image inside a black border of one pixel: every move is a view of the same buffer.
    for (int y = 0; y < image_side; ++y) {
      std::copy_n(raw.begin() + y * image_side, image_side,
                  padded_.begin() + (y + 1) * static_cast<int>(padded_side) + 1);
    }
    const perceptual_key own = key_moved_back(0, 0);
    last_hit_ = true;
    if (const auto hit = cache_.find(own)) return *hit;
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        if (dy == 0 && dx == 0) continue;
        if (const auto hit = cache_.find(key_moved_back(dy, dx))) return *hit;
      }
    }
    last_hit_ = false;
    const prediction answer = inner_->classify(std::span<const float>());
    if (answer.probability >= keep_.min_probability) cache_.insert(own, answer);
    return answer;
  }
  bool last_hit() const { return last_hit_; }
  cache_stats stats() const { return cache_.stats(); }

 private:
  static constexpr std::size_t padded_side = image_side + 2;

  /// The key of the image moved by (-dy, -dx): what its original looked like had it been moved
  /// by (dy, dx).
  perceptual_key key_moved_back(int dy, int dx) const {
    const auto offset = static_cast<std::size_t>((1 + dy) * static_cast<int>(padded_side) + 1 + dx);
    return make_perceptual_key({std::span<const std::uint8_t>(padded_).subspan(offset), image_side,
                                image_side, 1, padded_side},
                               hash_);
  }

  Inner* inner_;
  result_cache<prediction, perceptual_key> cache_;
  dhash_options hash_;
  cached_options keep_;
  std::array<std::uint8_t, padded_side * padded_side> padded_{};
  bool last_hit_ = false;
};

/// Calls `use(memory)` with a fresh memory of `setup` in front of `inner`.
template <class Inner, class Use>
void with_memory(const memory_setup& setup, Inner& inner, Use&& use) {
  switch (setup.key) {
    case memory_key::exact: {
      keyed_memory<Inner, exact_key, exact_key_of> memory(inner, setup, {});
      use(memory);
      return;
    }
    case memory_key::perceptual: {
      keyed_memory<Inner, perceptual_key, perceptual_key_of> memory(
          inner, setup, {image_side, image_side, 1, setup.hash});
      use(memory);
      return;
    }
    case memory_key::probes: {
      probing_memory<Inner> memory(inner, setup);
      use(memory);
      return;
    }
    case memory_key::centred: {
      keyed_memory<Inner, perceptual_key, centred_key_of> memory(
          inner, setup, {image_side, image_side, 1, setup.hash});
      use(memory);
      return;
    }
  }
  throw error("with_memory: unknown memory key");
}

/// Answers recorded from a stream, given again in the same order (`at` says which image comes
/// next): a memory in front of them does its own work only, keys, lookups and insertions, and
/// so can be timed apart from the models.
class recorded_answers {
 public:
  explicit recorded_answers(std::span<const prediction> answers) : answers_(answers) {}

  void at(std::size_t image) { next_ = image; }
  prediction classify(std::span<const float>) const { return answers_[next_]; }
  /// Classifier's interface; the memories ask `classify`.
  std::span<const float> infer(std::span<const float>) {
    throw error("recorded_answers: only classify() is recorded");
  }

 private:
  std::span<const prediction> answers_;
  std::size_t next_ = 0;
};

}  // namespace lmnet::tools

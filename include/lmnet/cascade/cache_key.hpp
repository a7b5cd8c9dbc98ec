// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/cascade/hash.hpp>
#include <lmnet/cascade/perceptual_hash.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <type_traits>

namespace lmnet {

/// What a result cache files an entry under: `hash` indexes it; `check`, a second hash of the same
/// bytes, tells identical inputs apart from those whose hashes merely collide. Perceptual keys
/// (`perceptual = true`) match within a Hamming radius and carry a thumbnail to confirm a match.
template <class K>
concept CacheKey = std::copyable<K> && requires(const K& key) {
  { key.hash } -> std::convertible_to<std::uint64_t>;
  { key.check } -> std::convertible_to<std::uint64_t>;
  { K::perceptual } -> std::convertible_to<bool>;
};

/// Exact matching: two inputs match when their bytes hash alike twice (XXH64 with two seeds, so
/// 128 bits), and a 64-bit collision is detected and counted rather than answered.
struct exact_key {
  static constexpr bool perceptual = false;
  std::uint64_t hash = 0;
  std::uint64_t check = 0;

  friend bool operator==(const exact_key&, const exact_key&) = default;
};

/// Near-duplicate matching: `hash` is a 64-bit perceptual hash of the image, `check` the XXH64 of
/// its bytes (to tell an identical input from a near one), `view` a 16x16 thumbnail that confirms
/// a match. `make_perceptual_key` takes both from the frame as it is (the dHash of the dual-CNN
/// paper), `make_centred_key` from a window centred on the picture, so that moved copies match.
struct perceptual_key {
  static constexpr bool perceptual = true;
  std::uint64_t hash = 0;
  std::uint64_t check = 0;
  thumbnail view;

  friend bool operator==(const perceptual_key&, const perceptual_key&) = default;
};

inline constexpr std::uint64_t exact_check_seed = 0x9E3779B97F4A7C15ull;

inline exact_key make_exact_key(std::span<const std::byte> bytes) {
  return {xxh64(bytes), xxh64(bytes, exact_check_seed)};
}

inline perceptual_key make_perceptual_key(const image_view& image, dhash_options options = {}) {
  image.check();
  return {dhash(image, options), xxh64(image.pixels, exact_check_seed), make_thumbnail(image)};
}

/// A perceptual key that survives small moves as well as noise: the hash and thumbnail of the
/// window centred on the image's brightness centre (`centred_dhash`, `make_centred_thumbnail`,
/// from one summed-area table).
inline perceptual_key make_centred_key(const image_view& image, dhash_options options = {}) {
  const detail::centred_sampler sampler(image);
  return {detail::difference_bits(sampler.cell_means<8, 9>(), options.dead_zone),
          xxh64(image.pixels, exact_check_seed),
          detail::thumbnail_of(sampler.cell_means<thumbnail::size, thumbnail::size>())};
}

/// Key function of an exact cache: the bytes of whatever span of plain values it is given (the
/// raw image, or the model's float input).
struct exact_key_of {
  template <class T>
  requires std::is_trivially_copyable_v<T> exact_key operator()(std::span<T> values) const {
    return make_exact_key(std::as_bytes(values));
  }
};

/// Key function of a perceptual cache over raw 8-bit images of a fixed size.
struct perceptual_key_of {
  int height = 0;
  int width = 0;
  int channels = 1;
  dhash_options hash_options{};

  perceptual_key operator()(std::span<const std::uint8_t> pixels) const {
    return make_perceptual_key({pixels, height, width, channels}, hash_options);
  }
};

/// Key function of a perceptual cache over raw 8-bit images of a fixed size, whose keys survive
/// moves of a pixel or two (`make_centred_key`).
struct centred_key_of {
  int height = 0;
  int width = 0;
  int channels = 1;
  dhash_options hash_options{};

  perceptual_key operator()(std::span<const std::uint8_t> pixels) const {
    return make_centred_key({pixels, height, width, channels}, hash_options);
  }
};

}  // namespace lmnet

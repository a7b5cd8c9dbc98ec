// SPDX-License-Identifier: Apache-2.0
// The images of the cascade experiment: Fashion-MNIST's validation split and test set, the test
// set duplicated (the dual-CNN paper's d = 1.0, seed 42, duplicates appended), and duplicated with
// every duplicate perturbed.
#pragma once

#include "fashion_mnist.hpp"  // support/: the dataset reader and the preprocessing

#include <lmnet/core/error.hpp>

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lmnet::tools {

inline constexpr int image_side = 28;
inline constexpr std::size_t image_bytes = image_side * image_side;
inline constexpr std::size_t input_floats = fashion_mnist::padded_size * fashion_mnist::padded_size;

/// Raw 8-bit images and their labels.
struct image_set {
  std::vector<std::uint8_t> pixels;  // size() images of 28 x 28 bytes
  std::vector<int> labels;

  std::size_t size() const { return labels.size(); }
  std::span<const std::uint8_t> image(std::size_t i) const {
    return std::span<const std::uint8_t>(pixels).subspan(i * image_bytes, image_bytes);
  }
  void append(std::span<const std::uint8_t> image, int label) {
    pixels.insert(pixels.end(), image.begin(), image.end());
    labels.push_back(label);
  }
};

/// "train" or "t10k" from `root` (the dataset's gzip-compressed IDX files).
inline image_set load_fashion_mnist(const std::string& root, const std::string& split) {
  fashion_mnist::dataset d = fashion_mnist::load(split, root);
  image_set set;
  set.pixels = std::move(d.images);
  set.labels.assign(d.labels.begin(), d.labels.end());
  return set;
}

/// The validation split: every 12th training image (index % 12 == 0), 5000 of 60000, held out
/// from training by tools/train.py (lmnet_tools.fashion_mnist.validation_split).
inline image_set validation_split(const image_set& train) {
  image_set set;
  for (std::size_t i = 0; i < train.size(); i += 12) set.append(train.image(i), train.labels[i]);
  return set;
}

inline image_set first(const image_set& set, std::size_t count) {
  image_set out;
  for (std::size_t i = 0; i < std::min(count, set.size()); ++i)
    out.append(set.image(i), set.labels[i]);
  return out;
}

/// A network's input: the image zero-padded to 32 x 32, scaled to [0, 1] and normalised like the
/// training script's (support/fashion_mnist.hpp).
using fashion_mnist::preprocess;

/// A small deterministic generator (splitmix64), the same on every platform and library.
class splitmix64 {
 public:
  explicit splitmix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t operator()() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, n).
  std::uint64_t below(std::uint64_t n) { return (*this)() % n; }

 private:
  std::uint64_t state_;
};

inline constexpr std::uint64_t duplication_seed = 42;

/// Which originals the duplicates copy, in order: int(d * n) of them drawn without replacement
/// (seed 42); d = 1 duplicates every image once, in a random order.
inline std::vector<std::uint32_t> duplicate_sources(std::size_t n, double ratio = 1.0) {
  std::vector<std::uint32_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  splitmix64 rng(duplication_seed);
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
  order.resize(static_cast<std::size_t>(ratio * static_cast<double>(n)));
  return order;
}

enum class perturbation { none, noise, shift };

inline std::string_view perturbation_name(perturbation p) {
  switch (p) {
    case perturbation::none:
      return "none";
    case perturbation::noise:
      return "noise";
    case perturbation::shift:
      return "shift";
  }
  return "?";
}

/// The `index`-th duplicate's perturbation of `image`:
/// - noise: every pixel plus an integer drawn uniformly from -4..4, clamped to 0..255 (sensor
///   noise of under 2% of the range);
/// - shift: the whole image moved by one pixel up, down, left or right, the uncovered edge black.
/// Each `round` draws them anew (round 0 makes the test's copies).
inline void perturb(std::span<const std::uint8_t> image, std::span<std::uint8_t> out,
                    perturbation kind, std::uint64_t index, std::uint64_t round = 0) {
  splitmix64 rng(duplication_seed * 1000003 + index + (round << 32));
  if (kind == perturbation::none) {
    std::copy(image.begin(), image.end(), out.begin());
  } else if (kind == perturbation::noise) {
    for (std::size_t i = 0; i < image_bytes; ++i) {
      const int v = image[i] + static_cast<int>(rng.below(9)) - 4;
      out[i] = static_cast<std::uint8_t>(std::clamp(v, 0, 255));
    }
  } else {
    const int direction = static_cast<int>(rng.below(4));
    const int dy = direction == 0 ? -1 : direction == 1 ? 1 : 0;
    const int dx = direction == 2 ? -1 : direction == 3 ? 1 : 0;
    for (int y = 0; y < image_side; ++y) {
      for (int x = 0; x < image_side; ++x) {
        const int sy = y - dy, sx = x - dx;
        const bool inside = sy >= 0 && sy < image_side && sx >= 0 && sx < image_side;
        out[static_cast<std::size_t>(y * image_side + x)] =
            inside ? image[static_cast<std::size_t>(sy * image_side + sx)] : std::uint8_t{0};
      }
    }
  }
}

/// The duplicates of `originals`, perturbed: duplicate j is perturb(originals[sources[j]], j,
/// round).
inline image_set duplicates(const image_set& originals, perturbation kind,
                            std::uint64_t round = 0) {
  const std::vector<std::uint32_t> sources = duplicate_sources(originals.size());
  image_set set;
  std::vector<std::uint8_t> buffer(image_bytes);
  for (std::size_t j = 0; j < sources.size(); ++j) {
    perturb(originals.image(sources[j]), buffer, kind, j, round);
    set.append(buffer, originals.labels[sources[j]]);
  }
  return set;
}

}  // namespace lmnet::tools

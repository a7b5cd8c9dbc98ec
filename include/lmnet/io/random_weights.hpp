// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/io/weight_source.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>

namespace lmnet {

/// Deterministic random weights for benchmarks, demos and tests: each tensor's values depend only
/// on the seed and its name. Weights are uniform in +-sqrt(3 / fan_in) (unit-variance outputs),
/// batch-norm statistics are non-trivial (variance in [0.5, 1.5], mean and shift in +-0.2).
class random_weights {
 public:
  explicit random_weights(std::uint64_t seed = 1) : seed_(seed) {}

  void read(const std::string& name, std::span<const std::int64_t> shape, std::span<float> out) {
    std::uint64_t state = seed_ ^ hash(name);
    auto uniform = [&](float lo, float hi) {
      state += 0x9e3779b97f4a7c15ull;  // splitmix64
      std::uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      return lo + (hi - lo) * static_cast<float>(z >> 40) / static_cast<float>(1ull << 24);
    };
    float lo = -0.2f, hi = 0.2f;
    if (name.ends_with("running_var")) {
      lo = 0.5f, hi = 1.5f;
    } else if (name.ends_with(".weight") && shape.size() == 1) {  // batch-norm gamma
      lo = 0.5f, hi = 1.5f;
    } else if (shape.size() > 1) {
      std::int64_t fan_in = 1;
      for (std::size_t i = 1; i < shape.size(); ++i) fan_in *= shape[i];
      hi = std::sqrt(3.0f / static_cast<float>(fan_in));
      lo = -hi;
    }
    for (float& v : out) v = uniform(lo, hi);
  }
  void finish() const {}

 private:
  static std::uint64_t hash(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
    return h;
  }
  std::uint64_t seed_;
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
// The cascade experiment's data handling (tools/cascade): duplication, perturbations,
// preprocessing, the .npy files.
#include "cascade/datasets.hpp"
#include "cascade/npy.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <numeric>
#include <vector>

using namespace lmnet::tools;

namespace {
image_set ramp_images(std::size_t count) {
  image_set set;
  std::vector<std::uint8_t> image(image_bytes);
  for (std::size_t n = 0; n < count; ++n) {
    for (std::size_t i = 0; i < image_bytes; ++i)
      image[i] = static_cast<std::uint8_t>((i * 3 + n * 17) % 256);
    set.append(image, static_cast<int>(n % 10));
  }
  return set;
}
}  // namespace

TEST_CASE("duplicates copy every image once, in a fixed random order") {
  const std::vector<std::uint32_t> order = duplicate_sources(1000);
  std::vector<std::uint32_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::uint32_t> all(1000);
  std::iota(all.begin(), all.end(), 0u);
  CHECK(sorted == all);                     // a permutation: d = 1 duplicates each image once
  CHECK(order != all);                      // in a random order
  CHECK(order == duplicate_sources(1000));  // the same every time (seed 42)
  CHECK(duplicate_sources(1000, 0.25).size() == 250);
}

TEST_CASE("noisy copies stay within 4 grey levels; shifted copies move by exactly one pixel") {
  const image_set originals = ramp_images(40);
  const std::vector<std::uint32_t> sources = duplicate_sources(40);
  const image_set noisy = duplicates(originals, perturbation::noise);
  const image_set shifted = duplicates(originals, perturbation::shift);
  REQUIRE(noisy.size() == 40);
  double total = 0;
  for (std::size_t j = 0; j < 40; ++j) {
    const auto a = originals.image(sources[j]), b = noisy.image(j), c = shifted.image(j);
    CHECK(noisy.labels[j] == originals.labels[sources[j]]);
    for (std::size_t i = 0; i < image_bytes; ++i) {
      const int d = static_cast<int>(b[i]) - static_cast<int>(a[i]);
      CHECK(std::abs(d) <= 4);
      total += std::abs(d);
    }
    // The shift is one of the four one-pixel moves, the uncovered edge black.
    int matches = 0;
    for (auto [dy, dx] : {std::pair{-1, 0}, std::pair{1, 0}, std::pair{0, -1}, std::pair{0, 1}}) {
      bool same = true;
      for (int y = 0; y < 28 && same; ++y) {
        for (int x = 0; x < 28 && same; ++x) {
          const int sy = y - dy, sx = x - dx;
          const int expected = sy >= 0 && sy < 28 && sx >= 0 && sx < 28
                                   ? a[static_cast<std::size_t>(sy * 28 + sx)]
                                   : 0;
          same = c[static_cast<std::size_t>(y * 28 + x)] == expected;
        }
      }
      matches += same;
    }
    CHECK(matches == 1);
  }
  // Uniform integers in -4..4 have a mean absolute value of 20/9 (few pixels here are clamped).
  CHECK(total / (40.0 * image_bytes) == doctest::Approx(20.0 / 9).epsilon(0.05));
}

TEST_CASE("preprocessing pads to 32x32 and normalises like the training script") {
  std::vector<std::uint8_t> image(image_bytes, 0);
  image[0] = 255;
  std::vector<float> input(input_floats);
  preprocess(image, input);
  CHECK(input[0] == doctest::Approx((0.0 - 0.2860) / 0.3530));           // padding
  CHECK(input[2 * 32 + 2] == doctest::Approx((1.0 - 0.2860) / 0.3530));  // pixel (0, 0)
  CHECK(input[2 * 32 + 3] == doctest::Approx((0.0 - 0.2860) / 0.3530));
}

TEST_CASE(".npy files round-trip, and a wrong dtype is an error") {
  const std::string npy = "experiment_tools_test.npy";
  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 0.0f, 7.0f, 8.0f};
  save_npy(npy, {3, 2}, values);
  const npy_array<float> back = load_npy<float>(npy);
  CHECK(back.shape == std::vector<std::size_t>{3, 2});
  CHECK(back.data == values);
  CHECK_THROWS_AS(load_npy<double>(npy), lmnet::error);  // wrong dtype
  std::remove(npy.c_str());
}

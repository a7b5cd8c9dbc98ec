// SPDX-License-Identifier: Apache-2.0
// The cascade experiment's data handling (tools/cascade): duplication, perturbations,
// preprocessing, the .npy files, the memories it compares.
#include "cascade/datasets.hpp"
#include "cascade/memories.hpp"
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
  // Every round draws the perturbations anew.
  CHECK(duplicates(originals, perturbation::noise, 1).pixels !=
        duplicates(originals, perturbation::noise).pixels);
  CHECK(duplicates(originals, perturbation::shift, 1).pixels !=
        duplicates(originals, perturbation::shift).pixels);
  for (std::uint64_t round : {0u, 3u}) {
    CAPTURE(round);
    const image_set noisy = duplicates(originals, perturbation::noise, round);
    const image_set shifted = duplicates(originals, perturbation::shift, round);
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

namespace {
/// Answers every image with class 3, counting how often it is asked.
struct constant_classifier {
  int runs = 0;
  lmnet::prediction classify(std::span<const float>) {
    ++runs;
    return {3, 0.99f};
  }
  std::span<const float> infer(std::span<const float>) { return {}; }
};

/// A 28x28 picture of bands whose widths depend on `seed`, inside a black border of three pixels.
std::vector<std::uint8_t> textured_picture(int seed) {
  splitmix64 rng(static_cast<std::uint64_t>(seed));
  std::vector<std::uint8_t> image(image_bytes, 0);
  for (int y = 3; y < 25; ++y) {
    for (int x = 3; x < 25; ++x) {
      const int band = (x * (seed + 2) / 7 + y * (seed + 3) / 5) % 3;
      image[static_cast<std::size_t>(y * 28 + x)] =
          static_cast<std::uint8_t>(band * 70 + 40 + static_cast<int>(rng.below(20)));
    }
  }
  return image;
}

std::vector<std::uint8_t> moved(const std::vector<std::uint8_t>& image, int dy, int dx) {
  std::vector<std::uint8_t> out(image_bytes, 0);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      const int sy = y - dy, sx = x - dx;
      if (sy >= 0 && sy < 28 && sx >= 0 && sx < 28)
        out[static_cast<std::size_t>(y * 28 + x)] = image[static_cast<std::size_t>(sy * 28 + sx)];
    }
  }
  return out;
}

/// Which of the 24 moves of up to two pixels a fresh memory of `setup`, holding the picture,
/// answers; the count of model runs must agree.
int moves_answered(const memory_setup& setup, int max_move) {
  constant_classifier model;
  int hits = 0;
  with_memory(setup, model, [&](auto& memory) {
    const std::vector<std::uint8_t> image = textured_picture(1);
    memory.classify(image);
    CHECK_FALSE(memory.last_hit());
    for (int dy = -max_move; dy <= max_move; ++dy) {
      for (int dx = -max_move; dx <= max_move; ++dx) {
        if (std::max(std::abs(dy), std::abs(dx)) != max_move) continue;
        CHECK(memory.classify(moved(image, dy, dx)).label == 3);
        hits += memory.last_hit();
      }
    }
  });
  const int moves = 8 * max_move;
  CHECK(model.runs == 1 + moves - hits);
  return hits;
}
}  // namespace

TEST_CASE(
    "the experiment's memories: probes find one-pixel moves, centred keys two-pixel ones too") {
  const lmnet::cache_options frame{.capacity = 64, .radius = 6, .max_thumbnail_distance = 3.0f};
  const memory_setup perceptual{"perceptual", memory_key::perceptual, frame, {.dead_zone = 4.0f}};
  const memory_setup probes{"probes", memory_key::probes, frame, {.dead_zone = 4.0f}};
  const memory_setup centred{"centred",
                             memory_key::centred,
                             {.capacity = 64, .radius = 6, .max_thumbnail_distance = 6.0f},
                             {.dead_zone = 4.0f}};
  CHECK(moves_answered(perceptual, 1) <= 2);
  CHECK(moves_answered(probes, 1) == 8);
  CHECK(moves_answered(probes, 2) < 16);
  CHECK(moves_answered(centred, 1) == 8);
  CHECK(moves_answered(centred, 2) == 16);
  constant_classifier model;
  probing_memory<constant_classifier> memory(model, probes);
  CHECK_THROWS_WITH_AS(memory.classify(std::vector<std::uint8_t>(100)),
                       doctest::Contains("100 bytes, expected 784"), lmnet::error);
}

TEST_CASE("recorded answers replay a stream's answers; memories remember the sure ones only") {
  // A sure answer, an unsure one, a moved copy of each: only the sure one's copy hits.
  const std::vector<std::uint8_t> sure = textured_picture(1), unsure = textured_picture(2);
  const std::vector<lmnet::prediction> answers = {{1, 0.99f}, {2, 0.5f}, {1, 0.99f}, {2, 0.5f}};
  const std::vector<std::vector<std::uint8_t>> stream = {sure, unsure, moved(sure, 1, 0),
                                                         moved(unsure, 0, -1)};
  for (memory_key key : {memory_key::centred, memory_key::probes}) {
    const memory_setup setup{"memory",
                             key,
                             {.capacity = 8, .radius = 6, .max_thumbnail_distance = 6.0f},
                             {.dead_zone = 4.0f},
                             {.min_probability = 0.9f}};
    recorded_answers recorded(answers);
    std::vector<int> hits;
    with_memory(setup, recorded, [&](auto& memory) {
      for (std::size_t i = 0; i < stream.size(); ++i) {
        recorded.at(i);
        CHECK(memory.classify(stream[i]) == answers[i]);
        hits.push_back(memory.last_hit());
      }
    });
    CHECK(hits == std::vector<int>{0, 0, 1, 0});
    CHECK_THROWS_AS(recorded.infer({}), lmnet::error);
  }
}

TEST_CASE("int8 calibration runs on training images outside the validation split") {
  const image_set train = ramp_images(60);
  const image_set calibration = int8_calibration_split(train, 20);
  REQUIRE(calibration.size() == 20);
  // The first 20 training images whose index is not a multiple of 12: 1-11, then 13-21.
  std::size_t expected = 1;
  for (std::size_t i = 0; i < calibration.size(); ++i, ++expected) {
    if (expected % validation_stride == 0) ++expected;
    CAPTURE(i);
    CHECK(std::ranges::equal(calibration.image(i), train.image(expected)));
    CHECK(calibration.labels[i] == train.labels[expected]);
  }
  // No validation image among them, however many are asked for.
  const image_set all = int8_calibration_split(train, 1000);
  const image_set val = validation_split(train);
  CHECK(all.size() == train.size() - val.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    for (std::size_t v = 0; v < val.size(); ++v)
      CHECK_FALSE(std::ranges::equal(all.image(i), val.image(v)));
  }
}

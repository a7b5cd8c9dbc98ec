// SPDX-License-Identifier: Apache-2.0
// Two networks in a cascade behind a result cache: the second network runs only when the first
// is unsure, and an image seen before, or a slightly noisy copy of it, runs neither.
#include <lmnet/lmnet.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

// Two Fashion-MNIST-sized presets (32x32 grey, 10 classes): a cheap first, a second of another
// family. Any two Classifiers work, on any backends.
inline constexpr auto first_net = lmnet::models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto second_net = lmnet::models::plain_cnn({.channels = 1});

// A 28x28 raw image to the network's 32x32 input: zero-padded, scaled, normalised.
std::vector<float> to_input(const std::vector<std::uint8_t>& raw) {
  std::vector<float> input(32 * 32, -0.2860f / 0.3530f);
  for (int y = 0; y < 28; ++y) {
    for (int x = 0; x < 28; ++x) {
      input[static_cast<std::size_t>((y + 2) * 32 + x + 2)] =
          (raw[static_cast<std::size_t>(y * 28 + x)] / 255.0f - 0.2860f) / 0.3530f;
    }
  }
  return input;
}

int main() {
  lmnet::model<first_net> first;
  lmnet::model<second_net> second;
  first.load(lmnet::random_weights{1});  // trained weights: any WeightSource
  second.load(lmnet::random_weights{2});

  // Ask the second network when the first's top-2 margin is below 0.5 (calibrate the threshold
  // on held-out data: lmnet::calibrate_threshold), and keep its answer only if it is surer.
  lmnet::cascade dual(first, second, lmnet::threshold_rule{lmnet::score::margin, 0.5f},
                      {.post_check = true});

  // Remember answers by the raw image: dHash within 6 bits, confirmed by thumbnails within 3 grey
  // levels, at most 1024 entries (CLOCK eviction).
  lmnet::result_cache<lmnet::prediction, lmnet::perceptual_key> memory(
      {.capacity = 1024, .radius = 6, .max_thumbnail_distance = 3.0f});
  lmnet::cached classifier(dual, memory, lmnet::perceptual_key_of{28, 28, 1, {.dead_zone = 4.0f}});

  // Four images, then a noisy copy of each.
  std::vector<std::vector<std::uint8_t>> stream;
  for (int n = 0; n < 4; ++n) {
    std::vector<std::uint8_t> raw(28 * 28);
    for (int i = 0; i < 28 * 28; ++i) {
      const int y = i / 28, x = i % 28;
      raw[static_cast<std::size_t>(i)] =
          static_cast<std::uint8_t>((y * (n + 1) * 7 + x * (4 - n) * 5) % 256);
    }
    stream.push_back(raw);
  }
  for (int n = 0; n < 4; ++n) {
    std::vector<std::uint8_t> noisy = stream[static_cast<std::size_t>(n)];
    for (std::size_t i = 0; i < noisy.size(); ++i) {
      noisy[i] =
          static_cast<std::uint8_t>(std::clamp(noisy[i] + static_cast<int>(i % 5) - 2, 0, 255));
    }
    stream.push_back(noisy);
  }

  for (std::size_t n = 0; n < stream.size(); ++n) {
    const lmnet::prediction p =
        classifier.classify(to_input(stream[n]), std::span<const std::uint8_t>(stream[n]));
    std::printf("image %zu: class %d (p = %.2f)%s\n", n, p.label, p.probability,
                classifier.last_hit()  ? ", from the cache"
                : dual.last_deferred() ? ", second network asked"
                                       : "");
  }
  std::printf(
      "second network ran on %.0f%% of the images the networks saw; cache hit rate %.0f%%\n",
      100 * dual.stats().second_rate(), 100 * memory.stats().hit_rate());
}

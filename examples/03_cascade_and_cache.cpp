// SPDX-License-Identifier: Apache-2.0
// Two networks in a cascade behind a result memory: the second network runs only when the first
// is unsure, and a picture seen before, a noisy copy of it or the same picture moved by a pixel
// runs neither, provided the answer it got was sure enough to remember.
//
//   lmnet_example_03_cascade_and_cache [weights directory]
//
// With a directory of trained Fashion-MNIST weights (examples/weights/fashion_mnist: its
// l_mobilenet.safetensors and plain_cnn.safetensors), the networks are sure of some of the drawn
// pictures below and those are remembered. Without one they run with random weights, are sure of
// nothing, and nothing is remembered.
#include <lmnet/lmnet.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

// Two Fashion-MNIST-sized presets (32x32 grey, 10 classes): a cheap first, a second of another
// family. Any two Classifiers work, on any backends.
inline constexpr auto first_net = lmnet::models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto second_net = lmnet::models::plain_cnn({.channels = 1});

constexpr int side = 28;
using picture = std::vector<std::uint8_t>;  // 28x28 raw grey levels, as captured

// A 28x28 raw image to the network's 32x32 input: zero-padded, scaled, normalised.
std::vector<float> to_input(const picture& raw) {
  std::vector<float> input(32 * 32, -0.2860f / 0.3530f);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      input[static_cast<std::size_t>((y + 2) * 32 + x + 2)] =
          (raw[static_cast<std::size_t>(y * side + x)] / 255.0f - 0.2860f) / 0.3530f;
    }
  }
  return input;
}

// A picture drawn in grey on black, `inside(y, x)` saying which pixels are lit.
template <class Inside>
picture draw(Inside&& inside) {
  picture raw(side * side, 0);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      if (inside(y, x)) raw[static_cast<std::size_t>(y * side + x)] = 200;
    }
  }
  return raw;
}

// Sensor noise: every pixel off by up to 2 grey levels.
picture noisy(const picture& raw) {
  picture out = raw;
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::uint8_t>(std::clamp(out[i] + static_cast<int>(i % 5) - 2, 0, 255));
  return out;
}

// The picture moved one pixel to the right, the uncovered column black.
picture moved(const picture& raw) {
  picture out(raw.size(), 0);
  for (int y = 0; y < side; ++y) {
    for (int x = 1; x < side; ++x)
      out[static_cast<std::size_t>(y * side + x)] = raw[static_cast<std::size_t>(y * side + x - 1)];
  }
  return out;
}

int main(int argc, char** argv) {
  lmnet::model<first_net> first;
  lmnet::model<second_net> second;
  if (argc > 1) {
    const std::string dir = argv[1];
    first.load(lmnet::safetensors{dir + "/l_mobilenet.safetensors"});
    second.load(lmnet::safetensors{dir + "/plain_cnn.safetensors"});
  } else {
    first.load(lmnet::random_weights{1});  // any WeightSource
    second.load(lmnet::random_weights{2});
  }

  // Ask the second network when the first's top-2 margin is below 0.5 (calibrate the threshold
  // on held-out data: lmnet::calibrate_threshold), and keep its answer only if it is surer.
  lmnet::cascade dual(first, second, lmnet::threshold_rule{lmnet::score::margin, 0.5f},
                      {.post_check = true});

  // Remember answers by the raw image's centred key: the hash and thumbnail of a window centred
  // on its brightness, which a moved picture keeps. A lookup matches hashes within 6 bits whose
  // thumbnails are within 6 grey levels; at most 1024 entries (CLOCK eviction). Only answers at
  // least 93% sure are remembered: the networks may well answer a copy of a picture they were
  // unsure of otherwise. These are the settings docs/cascade.md's experiment tuned on its
  // validation data: tune yours on your own.
  lmnet::result_cache<lmnet::prediction, lmnet::perceptual_key> memory(
      {.capacity = 1024, .radius = 6, .max_thumbnail_distance = 6.0f});
  lmnet::cached classifier(dual, memory, lmnet::centred_key_of{side, side, 1, {.dead_zone = 4.0f}},
                           {.min_probability = 0.93f});

  // Four pictures, then a noisy copy and a moved copy of each.
  struct named_picture {
    std::string name;
    picture raw;
  };
  auto in = [](int v, int low, int high) { return v >= low && v < high; };
  std::vector<named_picture> stream = {
      {"trousers", draw([&](int y, int x) {
         const bool waist = in(y, 2, 6) && in(x, 8, 20);
         const bool legs = in(y, 6, 26) && (in(x, 8, 13) || in(x, 15, 20));
         return waist || legs;
       })},
      {"T-shirt", draw([&](int y, int x) {
         return (in(y, 3, 8) && in(x, 3, 25)) || (in(y, 3, 26) && in(x, 8, 20));
       })},
      {"bag", draw([&](int y, int x) {
         const bool handle =
             in(y, 4, 10) && (in(x, 9, 11) || in(x, 17, 19) || (in(y, 4, 6) && in(x, 9, 19)));
         return handle || (in(y, 10, 26) && in(x, 3, 25));
       })},
      {"shoe", draw([&](int y, int x) {
         return in(y, 15, 23) && in(x, 2, 26) && (y >= 19 || x >= 34 - y);
       })},
  };
  for (std::size_t n = 0; n < 4; ++n)
    stream.push_back({stream[n].name + ", noisy", noisy(stream[n].raw)});
  for (std::size_t n = 0; n < 4; ++n)
    stream.push_back({stream[n].name + ", moved", moved(stream[n].raw)});

  for (const named_picture& image : stream) {
    const std::uint64_t remembered_before = memory.stats().insertions;
    const lmnet::prediction p =
        classifier.classify(to_input(image.raw), std::span<const std::uint8_t>(image.raw));
    const char* how = classifier.last_hit()  ? "from the memory"
                      : dual.last_deferred() ? "second network asked"
                                             : "first network only";
    const char* kept = classifier.last_hit() ? ""
                       : memory.stats().insertions > remembered_before
                           ? ", remembered"
                           : ", not sure enough to remember";
    std::printf("%-18s class %d (p = %.2f), %s%s\n", image.name.c_str(), p.label,
                static_cast<double>(p.probability), how, kept);
  }
  std::printf(
      "second network ran on %.0f%% of the images the networks saw; memory hit rate %.0f%%\n",
      100 * dual.stats().second_rate(), 100 * memory.stats().hit_rate());
}

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/blocks/conv_bn.hpp>
#include <lmnet/blocks/inverted_residual.hpp>
#include <lmnet/layers/conv2d.hpp>
#include <lmnet/layers/dense.hpp>
#include <lmnet/layers/global_avg_pool.hpp>
#include <lmnet/layers/pointwise_conv2d.hpp>
#include <lmnet/models/make_divisible.hpp>
#include <lmnet/network/compile.hpp>

#include <array>

namespace lmnet::models {

struct mobilenet_v2_options {
  int classes = 1000;
  int channels = 3;
  int resolution = 224;
  double width = 1.0;
  /// The CIFAR variant: stem stride 1 and the 24-channel stage at stride 1 (for 32x32 inputs).
  bool cifar = false;
};

/// MobileNetV2 with torchvision's topology and module names (`features.*`, `classifier.1`).
constexpr auto mobilenet_v2(mobilenet_v2_options o = {}) {
  struct stage {
    int expansion, channels, repeats, stride;
  };
  constexpr std::array<stage, 7> stages{{{1, 16, 1, 1},
                                         {6, 24, 2, 2},
                                         {6, 32, 3, 2},
                                         {6, 64, 4, 2},
                                         {6, 96, 3, 1},
                                         {6, 160, 3, 2},
                                         {6, 320, 1, 1}}};
  std::array<inverted_residual, 17> blocks{};
  std::size_t i = 0;
  for (std::size_t s = 0; s < stages.size(); ++s) {
    const int stride = (o.cifar && stages[s].channels == 24) ? 1 : stages[s].stride;
    for (int r = 0; r < stages[s].repeats; ++r) {
      blocks[i++] = {.out = make_divisible(stages[s].channels * o.width),
                     .stride = r == 0 ? stride : 1,
                     .expansion = stages[s].expansion};
    }
  }
  const int stem = make_divisible(32 * o.width);
  const int last = make_divisible(1280 * (o.width > 1.0 ? o.width : 1.0));
  return network{
      input{o.resolution, o.resolution, o.channels},
      named("features", sequential(conv_bn(conv2d{.out = stem, .stride = o.cifar ? 1 : 2}, relu6),
                                   blocks, conv_bn(pointwise_conv2d{.out = last}, relu6))),
      global_avg_pool{}, named("classifier.1", dense{.out = o.classes})};
}

}  // namespace lmnet::models

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/blocks/conv_bn.hpp>
#include <lmnet/blocks/shuffle_unit.hpp>
#include <lmnet/layers/conv2d.hpp>
#include <lmnet/layers/dense.hpp>
#include <lmnet/layers/global_avg_pool.hpp>
#include <lmnet/layers/max_pool2d.hpp>
#include <lmnet/layers/pointwise_conv2d.hpp>
#include <lmnet/network/compile.hpp>

#include <array>

namespace lmnet::models {

struct shufflenet_v2_options {
  int classes = 1000;
  int channels = 3;
  int resolution = 224;
  double width = 1.0;  // 0.5, 1.0, 1.5 or 2.0, as torchvision's x0_5 ... x2_0
  /// The CIFAR variant: stem stride 1 and no max-pool (for 32x32 inputs).
  bool cifar = false;
};

/// ShuffleNetV2 with torchvision's topology and module names (`conv1`, `stage2..4`, `conv5`, `fc`).
constexpr auto shufflenet_v2(shufflenet_v2_options o = {}) {
  // Stage widths of torchvision's four sizes.
  const std::array<int, 4> widths = o.width <= 0.5   ? std::array{48, 96, 192, 1024}
                                    : o.width <= 1.0 ? std::array{116, 232, 464, 1024}
                                    : o.width <= 1.5 ? std::array{176, 352, 704, 1024}
                                                     : std::array{244, 488, 976, 2048};
  auto stage = [&]<std::size_t N>(int channels) {
    std::array<shuffle_unit, N> units{};
    for (std::size_t i = 0; i < N; ++i) units[i] = {.out = channels, .stride = i == 0 ? 2 : 1};
    return sequential(units);
  };
  return network{input{o.resolution, o.resolution, o.channels},
                 named("conv1", conv_bn(conv2d{.out = 24, .stride = o.cifar ? 1 : 2}, relu)),
                 when(!o.cifar, max_pool2d{.kernel = 3, .stride = 2, .padding = 1}),
                 named("stage2", stage.template operator()<4>(widths[0])),
                 named("stage3", stage.template operator()<8>(widths[1])),
                 named("stage4", stage.template operator()<4>(widths[2])),
                 named("conv5", conv_bn(pointwise_conv2d{.out = widths[3]}, relu)),
                 global_avg_pool{},
                 named("fc", dense{.out = o.classes})};
}

}  // namespace lmnet::models

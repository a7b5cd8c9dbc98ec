// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/activation.hpp>
#include <lmnet/layers/batch_norm.hpp>
#include <lmnet/layers/conv2d.hpp>
#include <lmnet/layers/dense.hpp>
#include <lmnet/layers/global_avg_pool.hpp>
#include <lmnet/network/combinators.hpp>
#include <lmnet/network/compile.hpp>

#include <array>

namespace lmnet::models {

/// ResNet's basic block for CIFAR (He et al.): two 3x3 conv-BN, a shortcut (a 1x1 conv-BN
/// `downsample` when the shape changes), ReLU after the sum. Modules conv1, bn1, conv2, bn2,
/// downsample.0/.1.
struct basic_block {
  int out = 0;
  int stride = 1;

  constexpr auto structure(shape in) const {
    const bool project = stride != 1 || in.channels != out;
    return chain(
        sum(either(project,
                   named("downsample",
                         sequential(conv2d{.out = out, .kernel = 1, .stride = stride, .padding = 0},
                                    batch_norm{})),
                   identity{}),
            chain(named("conv1", conv2d{.out = out, .stride = stride}), named("bn1", batch_norm{}),
                  relu, named("conv2", conv2d{.out = out}), named("bn2", batch_norm{}))),
        relu);
  }
  static constexpr block_kind kind = block_kind::none;
};

struct resnet_cifar_options {
  int classes = 10;
  int channels = 3;
  int resolution = 32;
  int blocks_per_stage = 1;  // depth = 6 * blocks_per_stage + 2: 1 -> ResNet-8, 3 -> ResNet-20
};

/// The CIFAR ResNets (16, 32 and 64 channels in three stages), names as the common PyTorch
/// CIFAR implementations: conv1, bn1, layer1..3.<i>.*, fc. Up to 3 blocks per stage (ResNet-20).
constexpr auto resnet_cifar(resnet_cifar_options o = {}) {
  auto stage = [&](int out, int stride) {
    std::array<when_t<basic_block>, 3> blocks{};
    for (int i = 0; i < 3; ++i) {
      blocks[static_cast<std::size_t>(i)] =
          when(i < o.blocks_per_stage, basic_block{.out = out, .stride = i == 0 ? stride : 1});
    }
    return sequential(blocks);
  };
  return network{input{o.resolution, o.resolution, o.channels},
                 named("conv1", conv2d{.out = 16}),
                 named("bn1", batch_norm{}),
                 relu,
                 named("layer1", stage(16, 1)),
                 named("layer2", stage(32, 2)),
                 named("layer3", stage(64, 2)),
                 global_avg_pool{},
                 named("fc", dense{.out = o.classes})};
}

}  // namespace lmnet::models

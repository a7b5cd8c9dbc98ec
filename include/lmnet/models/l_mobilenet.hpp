// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/blocks/conv_bn.hpp>
#include <lmnet/blocks/l_bottleneck.hpp>
#include <lmnet/layers/conv2d.hpp>
#include <lmnet/layers/dense.hpp>
#include <lmnet/layers/global_avg_pool.hpp>
#include <lmnet/layers/pointwise_conv2d.hpp>
#include <lmnet/models/make_divisible.hpp>
#include <lmnet/network/compile.hpp>

#include <array>

namespace lmnet::models {

struct l_mobilenet_options {
  int classes = 10;
  int channels = 3;
  int resolution = 32;
  double width = 1.0;
};

/// lmnet's L-Mobilenet for CIFAR-size inputs: 38 weight layers (stem, seven L-Mobilenet
/// bottlenecks of five weight layers each, a 1x1 head and the classifier). See l_bottleneck for
/// the block, which is lmnet's reading of the paper, not the authors' published design.
constexpr auto l_mobilenet(l_mobilenet_options o = {}) {
  struct stage {
    int channels, stride;
  };
  constexpr std::array<stage, 7> stages{
      {{24, 2}, {24, 1}, {48, 2}, {48, 1}, {96, 2}, {96, 1}, {128, 1}}};
  std::array<l_bottleneck<>, 7> blocks{};
  for (std::size_t i = 0; i < stages.size(); ++i) {
    blocks[i] = {.out = make_divisible(stages[i].channels * o.width), .stride = stages[i].stride};
  }
  return network{
      input{o.resolution, o.resolution, o.channels},
      named("stem", conv_bn(conv2d{.out = make_divisible(16 * o.width)}, relu6)),
      named("blocks", sequential(blocks)),
      named("head", conv_bn(pointwise_conv2d{.out = make_divisible(512 * o.width)}, relu6)),
      global_avg_pool{},
      named("classifier", dense{.out = o.classes})};
}

}  // namespace lmnet::models

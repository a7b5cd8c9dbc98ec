// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/blocks/conv_bn.hpp>
#include <lmnet/layers/channel_slice.hpp>
#include <lmnet/layers/depthwise_conv2d.hpp>
#include <lmnet/layers/pointwise_conv2d.hpp>
#include <lmnet/network/combinators.hpp>

#include <array>
#include <cstddef>
#include <utility>

namespace lmnet {

/// The structure of an L-Mobilenet bottleneck (template parameter of `l_bottleneck`).
struct l_bottleneck_config {
  static constexpr int max_branches = 4;
  static constexpr int max_depth = 4;

  int expansion = 4;  // expanded width E = expansion * input channels
  int groups = 2;     // groups of the projection; 2 with two equal branches: one per branch
  int branches = 2;
  std::array<int, max_branches> depths{1, 2};  // stacked 3x3 depthwise layers per branch
  std::array<int, max_branches> widths{1, 1};  // share of E per branch
};

/// lmnet's reading of the L-Mobilenet bottleneck. The paper's exact block is not public; this one
/// joins its two named parents, Inception-ResNetV1 (parallel branches of different receptive
/// fields, concatenated, projected by a 1x1, added to the input) and MobileNetV2 (1x1 expansion,
/// depthwise 3x3 instead of full 3x3, linear projection), and uses only 1x1 and 3x3 kernels, as
/// the paper's hardware-friendly design does:
///
///     x (C) -> expand   [1x1 C->E, BN, ReLU6]
///           -> split E channels into branches by `widths`
///              branch i: `depths[i]` x [3x3 depthwise (the first with stride s), BN, ReLU6]
///              (depth 1: 3x3 receptive field; depth 2: 5x5, Inception's factorised 5x5)
///           -> concat -> project [1x1 E->C', `groups` groups, BN] (linear)
///           -> + x when s == 1 and C == C'
///
/// With two equal branches and groups == 2, each group of the projection reads one branch:
/// Inception's "each branch ends in its own 1x1", at half the parameters of a dense projection.
/// Channel mixing across branches happens in the next block's dense expansion. Module names (for
/// weights): expand.0/.1, branches.<i>.<j>.0/.1, project.0/.1.
template <l_bottleneck_config Config = l_bottleneck_config{}>
struct l_bottleneck {
  static_assert(Config.branches >= 1 && Config.branches <= l_bottleneck_config::max_branches);
  static constexpr block_kind kind = block_kind::l_bottleneck;
  static constexpr l_bottleneck_config config = Config;
  int out = 0;
  int stride = 1;

  constexpr auto structure(shape in) const {
    const int expanded = in.channels * Config.expansion;
    return residual_if(
        stride == 1 && in.channels == out,
        chain(named("expand", conv_bn(pointwise_conv2d{.out = expanded}, relu6)),
              branches(expanded,
                       std::make_index_sequence<static_cast<std::size_t>(Config.branches)>{}),
              named("project", conv_bn(pointwise_conv2d{.out = out, .groups = Config.groups}))));
  }

 private:
  // Channels [begin, end) of the expanded tensor that branch `i` reads.
  static constexpr std::pair<int, int> branch_channels(int expanded, int i) {
    int total = 0, before = 0;
    for (int b = 0; b < Config.branches; ++b) total += Config.widths[static_cast<std::size_t>(b)];
    for (int b = 0; b < i; ++b) before += Config.widths[static_cast<std::size_t>(b)];
    const int begin = expanded * before / total;
    const int end = i + 1 == Config.branches
                        ? expanded
                        : expanded * (before + Config.widths[static_cast<std::size_t>(i)]) / total;
    return {begin, end};
  }

  constexpr auto branch(int expanded, int i) const {
    std::array<when_t<decltype(conv_bn(depthwise_conv2d{}, relu6))>, l_bottleneck_config::max_depth>
        layers{};
    for (int j = 0; j < l_bottleneck_config::max_depth; ++j) {
      layers[static_cast<std::size_t>(j)] =
          when(j < Config.depths[static_cast<std::size_t>(i)],
               conv_bn(depthwise_conv2d{.stride = j == 0 ? stride : 1}, relu6));
    }
    const auto [begin, end] = branch_channels(expanded, i);
    return chain(channel_slice{begin, end - begin},
                 named("branches", named(i, sequential(layers))));
  }

  template <std::size_t... I>
  constexpr auto branches(int expanded, std::index_sequence<I...>) const {
    return concat(branch(expanded, static_cast<int>(I))...);
  }
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/activation.hpp>
#include <lmnet/layers/batch_norm.hpp>
#include <lmnet/layers/channel_shuffle.hpp>
#include <lmnet/layers/channel_slice.hpp>
#include <lmnet/layers/depthwise_conv2d.hpp>
#include <lmnet/layers/pointwise_conv2d.hpp>
#include <lmnet/network/combinators.hpp>

namespace lmnet {

/// ShuffleNetV2's unit, as torchvision builds it (modules `branch1`, `branch2`):
///
///     stride 1: x = (x1, x2) split in halves; out = shuffle(concat(x1, branch2(x2)), 2)
///     stride 2: out = shuffle(concat(branch1(x), branch2(x)), 2)
///     branch1 = [3x3 depthwise s, BN, 1x1, BN, ReLU]
///     branch2 = [1x1, BN, ReLU, 3x3 depthwise s, BN, 1x1, BN, ReLU]
struct shuffle_unit {
  static constexpr block_kind kind = block_kind::shuffle_unit;
  int out = 0;
  int stride = 1;

  constexpr auto structure(shape in) const {
    const int half = out / 2;
    const bool down = stride > 1;
    const auto branch1 =
        named("branch1", sequential(depthwise_conv2d{.stride = stride}, batch_norm{},
                                    pointwise_conv2d{.out = half}, batch_norm{}, relu));
    // With stride 1 the unit keeps its width, so the half it transforms must have out / 2 channels.
    const auto branch2 = named(
        "branch2", sequential(pointwise_conv2d{.in = down ? in.channels : half, .out = half},
                              batch_norm{}, relu, depthwise_conv2d{.stride = stride}, batch_norm{},
                              pointwise_conv2d{.out = half}, batch_norm{}, relu));
    const int split = in.channels / 2;
    return chain(concat(either(down, branch1, channel_slice{0, split}),
                        chain(when(!down, channel_slice{split, in.channels - split}), branch2)),
                 channel_shuffle{2});
  }
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/blocks/conv_bn.hpp>
#include <lmnet/layers/depthwise_conv2d.hpp>
#include <lmnet/layers/pointwise_conv2d.hpp>
#include <lmnet/network/combinators.hpp>

namespace lmnet {

/// MobileNetV2's inverted residual, as torchvision builds it (module `conv`):
///
///     x (C) -> [1x1 C->tC, BN, ReLU6]  (absent when t == 1)
///           -> [k x k depthwise, stride s, BN, ReLU6]  (k = 3 in MobileNetV2; 5 in MNASNet)
///           -> [1x1 tC->C', BN]  (linear bottleneck)
///           -> + x when s == 1 and C == C'
struct inverted_residual {
  static constexpr block_kind kind = block_kind::inverted_residual;
  int out = 0;
  int stride = 1;
  int expansion = 6;
  int kernel = 3;  // of the depthwise layer

  constexpr auto structure(shape in) const {
    const int hidden = in.channels * expansion;
    return residual_if(
        stride == 1 && in.channels == out,
        named("conv",
              sequential(when(expansion != 1, conv_bn(pointwise_conv2d{.out = hidden}, relu6)),
                         conv_bn(depthwise_conv2d{.kernel = kernel, .stride = stride}, relu6),
                         pointwise_conv2d{.out = out}, batch_norm{})));
  }
};

}  // namespace lmnet

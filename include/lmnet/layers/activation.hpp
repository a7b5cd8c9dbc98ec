// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// An activation as a layer (PyTorch `nn.ReLU`, `nn.ReLU6`). It is fused into the layer that
/// produces its input whenever that input feeds nothing else.
struct activation_layer {
  activation function = activation::none;

  constexpr layer_spec apply(shape in_shape, detail::message& /*why*/) const {
    return {.kind = op::activation, .input = in_shape, .output = in_shape, .act = function};
  }
};

inline constexpr activation_layer relu{activation::relu};
inline constexpr activation_layer relu6{activation::relu6};

}  // namespace lmnet

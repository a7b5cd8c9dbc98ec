// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// Softmax over channels, at every pixel.
struct softmax {
  constexpr layer_spec apply(shape in_shape, detail::message& /*why*/) const {
    return {.kind = op::softmax, .input = in_shape, .output = in_shape};
  }
};

}  // namespace lmnet

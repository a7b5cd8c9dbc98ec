// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// Mean over height and width: (H, W, C) -> (1, 1, C).
struct global_avg_pool {
  constexpr layer_spec apply(shape in_shape, detail::message& /*why*/) const {
    return {.kind = op::global_avg_pool, .input = in_shape, .output = {1, 1, in_shape.channels}};
  }
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// ShuffleNet's channel shuffle: view C as (groups, C / groups), transpose, flatten. Output channel
/// j reads input channel (j % groups) * (C / groups) + j / groups.
struct channel_shuffle {
  int groups = 2;

  constexpr layer_spec apply(shape in_shape, detail::message& why) const {
    layer_spec spec{.kind = op::channel_shuffle, .input = in_shape, .output = in_shape};
    spec.groups = groups;
    if (groups < 1) return detail::fail(spec, why, "groups must be >= 1");
    if (in_shape.channels % groups != 0) {
      why << "groups = " << groups << " does not divide the " << in_shape.channels
          << " input channels";
    }
    return spec;
  }
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// Channels [begin, begin + count) of the input, as a view (PyTorch `x[:, begin:begin+count]`,
/// or one half of `x.chunk(2, dim=1)`). A count of 0 means "to the last channel".
struct channel_slice {
  int begin = 0;
  int count = 0;

  constexpr layer_spec apply(shape in_shape, detail::message& why) const {
    layer_spec spec{.kind = op::channel_slice, .input = in_shape};
    const int n = count == 0 ? in_shape.channels - begin : count;
    spec.channel_begin = begin;
    spec.output = {in_shape.height, in_shape.width, n};
    if (begin < 0 || n < 1 || begin + n > in_shape.channels) {
      why << "channels [" << begin << ", " << begin + n << ") are outside the " << in_shape.channels
          << " input channels";
    }
    return spec;
  }
};

}  // namespace lmnet

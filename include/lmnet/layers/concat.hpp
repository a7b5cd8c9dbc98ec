// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

#include <span>

namespace lmnet {

/// Shape rule of channel concatenation: equal height and width, channels summed.
constexpr layer_spec concat_rule(std::span<const shape> inputs, detail::message& why) {
  layer_spec spec{.kind = op::concat, .input = inputs[0], .output = inputs[0]};
  spec.output.channels = 0;
  for (const shape& s : inputs) {
    if (s.height != inputs[0].height || s.width != inputs[0].width) {
      why << "cannot concatenate " << inputs[0].height << "x" << inputs[0].width << " and "
          << s.height << "x" << s.width << " tensors";
      return spec;
    }
    spec.output.channels += s.channels;
  }
  return spec;
}

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

namespace lmnet {

/// Standard 2-D convolution: any kernel, stride, padding and groups (PyTorch `nn.Conv2d`).
/// Weights (O, I/groups, KH, KW) are read under `<name>.weight`. A padding of -1 means "same"
/// for odd kernels (kernel / 2).
struct conv2d {
  int in = 0;  // optional: when set, checked against the input's channels
  int out = 0;
  extent2 kernel{3, 3};
  extent2 stride{1, 1};
  extent2 padding{-1, -1};
  int groups = 1;
  bias_option bias{};

  constexpr layer_spec apply(shape in_shape, detail::message& why) const {
    layer_spec spec{.kind = op::conv2d, .input = in_shape};
    spec.kernel = kernel;
    spec.stride = stride;
    spec.padding = {padding.height < 0 ? kernel.height / 2 : padding.height,
                    padding.width < 0 ? kernel.width / 2 : padding.width};
    spec.groups = groups;
    spec.bias = bias;
    spec.output.channels = out;
    spec = detail::check_in(spec, in, why);
    if (why.empty()) spec = detail::check_groups(spec, out, why);
    if (why.empty()) spec = detail::window_rule(spec, why);
    return spec;
  }
};

}  // namespace lmnet

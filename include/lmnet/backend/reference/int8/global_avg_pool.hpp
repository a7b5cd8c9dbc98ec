// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/quantization/params.hpp>

#include <cstdint>

namespace lmnet::reference {

/// The sum over height and width of (x - in_zero), rescaled by in_scale / (out_scale * H * W).
inline void global_avg_pool_int8(const int8_kernel_args& a) {
  const tensor_view<const std::uint8_t> in = a.inputs[0];
  const quantized_node& q = a.q;
  for (int n = 0; n < in.batch; ++n)
    for (int c = 0; c < in.channels; ++c) {
      std::int32_t sum = 0;
      for (int y = 0; y < in.height; ++y)
        for (int x = 0; x < in.width; ++x) sum += in(n, y, x, c) - q.input.zero_point;
      a.output(n, 0, 0, c) = requantize(sum, q.first_multiplier, q.output.zero_point, q.clamp);
    }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::global_avg_pool> {
  static void run(const reference::int8_kernel_args& a) { reference::global_avg_pool_int8(a); }
};

}  // namespace lmnet

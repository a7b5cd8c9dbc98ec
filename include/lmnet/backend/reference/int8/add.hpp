// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/quantization/params.hpp>

namespace lmnet::reference {

/// out = requantize((a - a_zero) rescaled, plus (b - b_zero) rescaled), each term rounded.
inline void add_int8(const int8_kernel_args& k) {
  const quantized_node& q = k.q;
  const tensor_view<std::uint8_t> out = k.output;
  for (int n = 0; n < out.batch; ++n)
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width; ++x)
        for (int c = 0; c < out.channels; ++c) {
          out(n, y, x, c) =
              requantize(k.inputs[0](n, y, x, c) - q.input.zero_point, q.first_multiplier,
                         k.inputs[1](n, y, x, c) - q.second.zero_point, q.second_multiplier,
                         q.output.zero_point, q.clamp);
        }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::add> {
  static void run(const reference::int8_kernel_args& a) { reference::add_int8(a); }
};

}  // namespace lmnet

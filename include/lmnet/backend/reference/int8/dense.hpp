// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/quantization/params.hpp>

#include <cstdint>

namespace lmnet::reference {

/// out(n, o) = requantize(bias[o] + sum over (y, x, c) of (in(n, y, x, c) - in_zero) *
/// w[o][(y * W + x) * C + c]).
inline void dense_int8(const int8_kernel_args& a) {
  const tensor_view<const std::uint8_t> in = a.inputs[0];
  const quantized_node& q = a.q;
  const int features = in.height * in.width * in.channels;
  for (int n = 0; n < in.batch; ++n) {
    for (int o = 0; o < a.output.channels; ++o) {
      const std::int8_t* w = q.weights.data() + static_cast<long>(o) * features;
      std::int32_t sum = q.bias[static_cast<std::size_t>(o)];
      for (int y = 0; y < in.height; ++y) {
        for (int x = 0; x < in.width; ++x) {
          for (int c = 0; c < in.channels; ++c) {
            sum += (in(n, y, x, c) - q.input.zero_point) * w[(y * in.width + x) * in.channels + c];
          }
        }
      }
      a.output(n, 0, 0, o) =
          requantize(sum, q.multiplier[static_cast<std::size_t>(o)], q.output.zero_point, q.clamp);
    }
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::dense> {
  static void run(const reference::int8_kernel_args& a) { reference::dense_int8(a); }
};

}  // namespace lmnet

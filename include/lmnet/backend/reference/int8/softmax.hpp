// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/quantization/params.hpp>

#include <cmath>
#include <vector>

namespace lmnet::reference {

/// Softmax in fp32 on the dequantized input, quantized to the output's params.
inline void softmax_int8(const int8_kernel_args& a) {
  const tensor_view<const std::uint8_t> in = a.inputs[0];
  const quantized_node& q = a.q;
  std::vector<float> e(static_cast<std::size_t>(in.channels));
  for (int n = 0; n < in.batch; ++n)
    for (int y = 0; y < in.height; ++y)
      for (int x = 0; x < in.width; ++x) {
        float peak = dequantize(in(n, y, x, 0), q.input);
        for (int c = 1; c < in.channels; ++c)
          peak = std::max(peak, dequantize(in(n, y, x, c), q.input));
        float total = 0.0f;
        for (int c = 0; c < in.channels; ++c) {
          e[static_cast<std::size_t>(c)] = std::exp(dequantize(in(n, y, x, c), q.input) - peak);
          total += e[static_cast<std::size_t>(c)];
        }
        for (int c = 0; c < in.channels; ++c)
          a.output(n, y, x, c) = quantize(e[static_cast<std::size_t>(c)] / total, q.output);
      }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::softmax> {
  static void run(const reference::int8_kernel_args& a) { reference::softmax_int8(a); }
};

}  // namespace lmnet

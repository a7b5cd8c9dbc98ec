// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/quantization/params.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lmnet::simd {

/// Rows [q0, q1): softmax in fp32 on the dequantized input, quantized to the output's params.
inline void int8_softmax(const int8_kernel_args& k, int q0, int q1) {
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  const quantized_node& q = k.q;
  for_each_row(k.output.height, q0, q1, [&](int n, int y) {
    for (int x = 0; x < k.output.width; ++x) {
      float peak = dequantize(in(n, y, x, 0), q.input);
      for (int c = 1; c < in.channels; ++c)
        peak = std::max(peak, dequantize(in(n, y, x, c), q.input));
      float total = 0.0f;
      for (int c = 0; c < in.channels; ++c)
        total += std::exp(dequantize(in(n, y, x, c), q.input) - peak);
      for (int c = 0; c < in.channels; ++c)
        k.output(n, y, x, c) =
            quantize(std::exp(dequantize(in(n, y, x, c), q.input) - peak) / total, q.output);
    }
  });
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::softmax> {
  static void run(const simd::int8_kernel_args& a) { simd::int8_softmax(a, a.first, a.last); }
};

}  // namespace lmnet

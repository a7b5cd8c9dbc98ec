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

/// Images [q0, q1) (the output has one row per image): each channel's mean, requantized.
inline void int8_global_avg_pool(const int8_kernel_args& k, int q0, int q1) {
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  const quantized_node& q = k.q;
  for (int n = q0; n < q1; ++n)
    for (int c = 0; c < in.channels; ++c) {
      std::int32_t sum = 0;
      for (int y = 0; y < in.height; ++y)
        for (int x = 0; x < in.width; ++x) sum += in(n, y, x, c) - q.input.zero_point;
      k.output(n, 0, 0, c) = requantize(sum, q.first_multiplier, q.output.zero_point, q.clamp);
    }
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::global_avg_pool> {
  static void run(const simd::int8_kernel_args& a) {
    simd::int8_global_avg_pool(a, a.first, a.last);
  }
};

}  // namespace lmnet

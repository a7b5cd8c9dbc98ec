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

/// An activation fusion left standing, over rows [q0, q1).
inline void int8_activation(const int8_kernel_args& k, int q0, int q1) {
  const quantized_node& q = k.q;
  for_each_row(k.output.height, q0, q1, [&](int n, int y) {
    for (int x = 0; x < k.output.width; ++x)
      for (int c = 0; c < k.output.channels; ++c)
        k.output(n, y, x, c) = requantize(k.inputs[0](n, y, x, c) - q.input.zero_point,
                                          q.first_multiplier, q.output.zero_point, q.clamp);
  });
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::activation> {
  static void run(const simd::int8_kernel_args& a) { simd::int8_activation(a, a.first, a.last); }
};

}  // namespace lmnet

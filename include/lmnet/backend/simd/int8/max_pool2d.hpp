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

/// Max over each window of rows [q0, q1), on the uint8 values (shared params).
inline void int8_max_pool2d(const int8_kernel_args& k, int q0, int q1) {
  const layer_spec& s = k.n.spec;
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  for_each_row(k.output.height, q0, q1, [&](int n, int y) {
    for (int x = 0; x < k.output.width; ++x)
      for (int c = 0; c < k.output.channels; ++c) {
        std::uint8_t best = 0;
        for (int ky = 0; ky < s.kernel.height; ++ky) {
          const int iy = y * s.stride.height - s.padding.height + ky;
          if (iy < 0 || iy >= in.height) continue;
          for (int kx = 0; kx < s.kernel.width; ++kx) {
            const int ix = x * s.stride.width - s.padding.width + kx;
            if (ix >= 0 && ix < in.width) best = std::max(best, in(n, iy, ix, c));
          }
        }
        k.output(n, y, x, c) = best;
      }
  });
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::max_pool2d> {
  static void run(const simd::int8_kernel_args& a) { simd::int8_max_pool2d(a, a.first, a.last); }
};

}  // namespace lmnet

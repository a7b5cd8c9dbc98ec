// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>

#include <cstdint>

namespace lmnet::reference {

/// Max over each window, on the uint8 values themselves (input and output share their params).
inline void max_pool2d_int8(const int8_kernel_args& a) {
  const layer_spec& spec = a.n.spec;
  const tensor_view<const std::uint8_t> in = a.inputs[0];
  const tensor_view<std::uint8_t> out = a.output;
  for (int n = 0; n < out.batch; ++n)
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width; ++x)
        for (int c = 0; c < out.channels; ++c) {
          std::uint8_t best = 0;
          for (int ky = 0; ky < spec.kernel.height; ++ky) {
            const int iy = y * spec.stride.height - spec.padding.height + ky;
            if (iy < 0 || iy >= in.height) continue;
            for (int kx = 0; kx < spec.kernel.width; ++kx) {
              const int ix = x * spec.stride.width - spec.padding.width + kx;
              if (ix < 0 || ix >= in.width) continue;
              best = in(n, iy, ix, c) > best ? in(n, iy, ix, c) : best;
            }
          }
          out(n, y, x, c) = best;
        }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::max_pool2d> {
  static void run(const reference::int8_kernel_args& a) { reference::max_pool2d_int8(a); }
};

}  // namespace lmnet

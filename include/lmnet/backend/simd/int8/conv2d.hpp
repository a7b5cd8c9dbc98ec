// SPDX-License-Identifier: Apache-2.0
// An int8 standard convolution (the stem): each output row's windows gathered into a patch
// matrix, the padding filled with the input's zero point (real 0), then one int8 product.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/int8/gemm.hpp>
#include <lmnet/backend/simd/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>

namespace lmnet::simd {

/// Bytes of scratch the int8 convolution needs: the patch matrix of one output row, and slack
/// for the product reading up to 3 bytes past a row.
constexpr std::size_t int8_conv2d_scratch_bytes(const layer_spec& s) {
  return static_cast<std::size_t>(s.output.width) * static_cast<std::size_t>(s.kernel.height) *
             static_cast<std::size_t>(s.kernel.width) *
             static_cast<std::size_t>(s.input.channels / s.groups) +
         64;
}

/// Output rows [q0, q1) of the batch.
template <class Arch>
void int8_conv2d(const int8_kernel_args& k, int q0, int q1) {
  const layer_spec& s = k.n.spec;
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  const tensor_view<std::uint8_t> out = k.output;
  const int ig = s.input.channels / s.groups, og = s.output.channels / s.groups;
  const int window = s.kernel.height * s.kernel.width * ig;
  const auto zero = static_cast<std::uint8_t>(k.q.input.zero_point);
  for_each_row(out.height, q0, q1, [&](int n, int y) {
    for (int g = 0; g < s.groups; ++g) {
      std::uint8_t* patch = k.scratch;
      for (int x = 0; x < out.width; ++x) {
        for (int ky = 0; ky < s.kernel.height; ++ky) {
          const int iy = y * s.stride.height - s.padding.height + ky;
          for (int kx = 0; kx < s.kernel.width; ++kx, patch += ig) {
            const int ix = x * s.stride.width - s.padding.width + kx;
            if (iy < 0 || iy >= in.height || ix < 0 || ix >= in.width) {
              std::memset(patch, zero, static_cast<std::size_t>(ig));
            } else {
              std::memcpy(patch, &in(n, iy, ix, g * ig), static_cast<std::size_t>(ig));
            }
          }
        }
      }
      int8_gemm_args a;
      a.a = k.scratch;
      a.a_stride = window;
      a.rows = out.width;
      a.packed = k.packed + static_cast<std::size_t>(g) * k.pack.group_bytes;
      a.layout = k.pack.gemm;
      a.c = &out(n, y, 0, g * og * k.channel_step);
      a.c_stride = out.channel_stride;
      a.c_step = k.channel_step;
      if (k.residual.data != nullptr) {
        a.residual = &k.residual(n, y, 0, g * og);
        a.residual_stride = k.residual.channel_stride;
        a.residual_zero = k.q.second.zero_point;
        a.residual_multiplier = k.q.second_multiplier;
      }
      a.out_zero = k.q.output.zero_point;
      a.clamp = k.q.clamp;
      int8_gemm<Arch>(a);
    }
  });
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::conv2d> {
  static void run(const simd::int8_kernel_args& a) { simd::int8_conv2d<Arch>(a, a.first, a.last); }
};

}  // namespace lmnet

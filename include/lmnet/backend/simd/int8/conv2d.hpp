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

/// Output row y of image n: pixel x's output channels at out + x * out_stride (channel j of a
/// group at j * channel_step), with `residual` (pixel x at residual + x * residual_stride) as a
/// second term when not null; `patch` is int8_conv2d_scratch_bytes(s) of scratch.
template <class Arch>
void int8_conv2d_row(const layer_spec& s, const quantized_node& q,
                     tensor_view<const std::uint8_t> in, int n, int y, std::uint8_t* out,
                     std::ptrdiff_t out_stride, int channel_step,
                     tensor_view<const std::uint8_t> residual, const std::byte* packed,
                     const int8_packing& pack, std::uint8_t* patch) {
  const int ig = s.input.channels / s.groups, og = s.output.channels / s.groups;
  const int window = s.kernel.height * s.kernel.width * ig;
  const auto zero = static_cast<std::uint8_t>(q.input.zero_point);
  for (int g = 0; g < s.groups; ++g) {
    // The window of each output pixel, row by row of the kernel: one run of kw pixels when the
    // group is the whole pixel and the run lies inside the image, tap by tap at the borders.
    // Plain loops: a stem's runs are a few bytes, too short for a library call.
    const bool whole_pixels = ig == in.channel_stride;
    const int run = s.kernel.width * ig;
    std::uint8_t* p = patch;
    for (int x = 0; x < s.output.width; ++x) {
      const int ix0 = x * s.stride.width - s.padding.width;
      const bool inside_x = ix0 >= 0 && ix0 + s.kernel.width <= in.width;
      for (int ky = 0; ky < s.kernel.height; ++ky, p += run) {
        const int iy = y * s.stride.height - s.padding.height + ky;
        if (iy < 0 || iy >= in.height) {
          for (int i = 0; i < run; ++i) p[i] = zero;
        } else if (inside_x && whole_pixels) {
          const std::uint8_t* source = &in(n, iy, ix0, 0);
          for (int i = 0; i < run; ++i) p[i] = source[i];
        } else {
          for (int kx = 0; kx < s.kernel.width; ++kx) {
            const int ix = ix0 + kx;
            std::uint8_t* tap = p + kx * ig;
            if (ix < 0 || ix >= in.width) {
              for (int i = 0; i < ig; ++i) tap[i] = zero;
            } else {
              const std::uint8_t* pixel = &in(n, iy, ix, g * ig);
              for (int i = 0; i < ig; ++i) tap[i] = pixel[i];
            }
          }
        }
      }
    }
    int8_gemm_args a;
    a.a = patch;
    a.a_stride = window;
    a.rows = s.output.width;
    a.packed = packed + static_cast<std::size_t>(g) * pack.group_bytes;
    a.layout = pack.gemm;
    a.c = out + g * og * channel_step;
    a.c_stride = out_stride;
    a.c_step = channel_step;
    if (residual.data != nullptr) {
      a.residual = &residual(n, y, 0, g * og);
      a.residual_stride = residual.channel_stride;
      a.residual_zero = q.second.zero_point;
      a.residual_multiplier = q.second_multiplier;
    }
    a.out_zero = q.output.zero_point;
    a.clamp = q.clamp;
    int8_gemm<Arch>(a);
  }
}

/// Output rows [q0, q1) of the batch.
template <class Arch>
void int8_conv2d(const int8_kernel_args& k, int q0, int q1) {
  for_each_row(k.output.height, q0, q1, [&](int n, int y) {
    int8_conv2d_row<Arch>(k.n.spec, k.q, k.inputs[0], n, y, &k.output(n, y, 0, 0),
                          k.output.channel_stride, k.channel_step, k.residual, k.packed, k.pack,
                          k.scratch);
  });
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::conv2d> {
  static void run(const simd::int8_kernel_args& a) { simd::int8_conv2d<Arch>(a, a.first, a.last); }
};

}  // namespace lmnet

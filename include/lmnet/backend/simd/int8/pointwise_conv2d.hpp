// SPDX-License-Identifier: Apache-2.0
// An int8 1x1 convolution, grouped or not: an int8 product over the pixels, read in place.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/int8/gemm.hpp>
#include <lmnet/backend/simd/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>

#include <cstddef>

namespace lmnet::simd {

/// Output rows [q0, q1) of the batch.
template <class Arch>
void int8_pointwise(const int8_kernel_args& k, int q0, int q1) {
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  const tensor_view<std::uint8_t> out = k.output;
  const std::ptrdiff_t p0 = static_cast<std::ptrdiff_t>(q0) * out.width;
  const std::ptrdiff_t p1 = static_cast<std::ptrdiff_t>(q1) * out.width;
  if (p0 >= p1) return;
  const int ig = in.channels / k.pack.groups, og = out.channels / k.pack.groups;
  for (int g = 0; g < k.pack.groups; ++g) {
    int8_gemm_args a;
    a.a = in.data + p0 * in.channel_stride + g * ig;
    a.a_stride = in.channel_stride;
    a.rows = static_cast<int>(p1 - p0);
    a.packed = k.packed + static_cast<std::size_t>(g) * k.pack.group_bytes;
    a.layout = k.pack.gemm;
    a.c = out.data + p0 * out.channel_stride + g * og * k.channel_step;
    a.c_stride = out.channel_stride;
    a.c_step = k.channel_step;
    if (k.residual.data != nullptr) {
      a.residual = k.residual.data + p0 * k.residual.channel_stride + g * og;
      a.residual_stride = k.residual.channel_stride;
      a.residual_zero = k.q.second.zero_point;
      a.residual_multiplier = k.q.second_multiplier;
    }
    a.out_zero = k.q.output.zero_point;
    a.clamp = k.q.clamp;
    int8_gemm<Arch>(a);
  }
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::pointwise_conv2d> {
  static void run(const simd::int8_kernel_args& a) {
    simd::int8_pointwise<Arch>(a, a.first, a.last);
  }
};

}  // namespace lmnet

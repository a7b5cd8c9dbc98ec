// SPDX-License-Identifier: Apache-2.0
// A 1x1 convolution, grouped or not: a product over the pixels, read in place.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/gemm.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

#include <cstddef>

namespace lmnet::simd {

/// A 1x1 convolution (grouped or not) over output rows [q0, q1) of the batch (row q: image
/// q / height, row q % height): one product per group over the rows' pixels, read in place.
/// With a `channel_step` (ungrouped only), output channel j goes to out's channel j * step.
template <class Arch>
void pointwise(const layer_spec& s, tensor_view<const float> in, tensor_view<float> out,
               tensor_view<const float> residual, const float* packed, const packing& p, int q0,
               int q1, int channel_step = 1) {
  const std::ptrdiff_t p0 = static_cast<std::ptrdiff_t>(q0) * out.width;
  const std::ptrdiff_t p1 = static_cast<std::ptrdiff_t>(q1) * out.width;
  if (p0 >= p1) return;
  const int ig = in.channels / s.groups, og = out.channels / s.groups;
  for (int g = 0; g < s.groups; ++g) {
    gemm_args a;
    a.a = in.data + p0 * in.channel_stride + g * ig;
    a.a_stride = in.channel_stride;
    a.rows = static_cast<int>(p1 - p0);
    a.packed = packed + static_cast<std::size_t>(g) * p.group_floats;
    a.layout = p.gemm;
    a.c = out.data + p0 * out.channel_stride + g * og;
    a.c_stride = out.channel_stride;
    a.n_store = og;
    if (residual.data != nullptr) {
      a.residual = residual.data + p0 * residual.channel_stride + g * og;
      a.residual_stride = residual.channel_stride;
    }
    a.act = s.act;
    a.c_step = channel_step;
    gemm<Arch>(a);
  }
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::pointwise_conv2d> {
  static void run(const simd::kernel_args& a) {
    simd::pointwise<Arch>(a.n.spec, a.inputs[0], a.output, a.residual, a.packed, a.pack, a.first,
                          a.last, a.channel_step);
  }
};

}  // namespace lmnet

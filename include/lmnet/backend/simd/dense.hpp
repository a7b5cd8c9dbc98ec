// SPDX-License-Identifier: Apache-2.0
// A fully connected layer: one product with a row per image.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/gemm.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

#include <algorithm>
#include <cstddef>

namespace lmnet::simd {

/// Floats of scratch `dense` needs: its input gathered when that is a channel slice.
constexpr std::size_t dense_scratch_floats(const layer_spec& s) {
  return s.input.size();
}

/// Register blocks of output channels of a dense layer packed as `p`: the units its channels are
/// shared out in.
constexpr int dense_blocks(const packing& p) {
  return p.gemm.blocks();
}

/// A fully connected layer over images [n0, n1): one product with a row per image, for output
/// register blocks [first, last) of dense_blocks(p). Threads share out the blocks (the weights
/// dominate its cost, so each reads only its share).
template <class Arch>
void dense(const layer_spec& s, tensor_view<const float> in, tensor_view<float> out,
           const float* packed, const packing& p, int n0, int n1, int first, int last,
           float* scratch) {
  if (first >= last || n0 == n1) return;
  gemm_args a;
  a.packed = packed;
  a.layout = p.gemm;
  a.n_store = out.channels;
  a.act = s.act;
  a.first_vector = first * p.gemm.block_vectors;
  a.last_vector = last * p.gemm.block_vectors;
  a.c_stride = out.channel_stride;
  a.a_stride = p.gemm.k;
  if (in.dense()) {
    a.a = &in(n0, 0, 0, 0);
    a.rows = n1 - n0;
    a.c = &out(n0, 0, 0, 0);
    gemm<Arch>(a);
    return;
  }
  for (int n = n0; n < n1; ++n) {
    float* row = scratch;
    for (int y = 0; y < in.height; ++y) {
      for (int x = 0; x < in.width; ++x, row += in.channels) {
        std::copy_n(&in(n, y, x, 0), in.channels, row);
      }
    }
    a.a = scratch;
    a.rows = 1;
    a.c = &out(n, 0, 0, 0);
    gemm<Arch>(a);
  }
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::dense> {
  static void run(const simd::kernel_args& a) {
    simd::dense<Arch>(a.n.spec, a.inputs[0], a.output, a.packed, a.pack, a.image_begin, a.image_end,
                      a.first, a.last, a.scratch);
  }
};

}  // namespace lmnet

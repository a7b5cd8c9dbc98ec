// SPDX-License-Identifier: Apache-2.0
// An int8 fully connected layer: one int8 product with a row per image.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/int8/gemm.hpp>
#include <lmnet/backend/simd/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>

#include <cstddef>
#include <cstring>

namespace lmnet::simd {

/// Bytes of scratch: the input gathered when it is a channel slice, and slack.
constexpr std::size_t int8_dense_scratch_bytes(const layer_spec& s) {
  return s.input.size() + 64;
}

/// Images [image_begin, image_end), blocks of 16 output channels [first, last).
template <class Arch>
void int8_dense(const int8_kernel_args& k) {
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  const tensor_view<std::uint8_t> out = k.output;
  if (k.first >= k.last || k.image_begin >= k.image_end) return;
  int8_gemm_args a;
  a.packed = k.packed;
  a.layout = k.pack.gemm;
  a.c_stride = out.channel_stride;
  a.out_zero = k.q.output.zero_point;
  a.clamp = k.q.clamp;
  a.first_block = k.first;
  a.last_block = k.last;
  a.a_stride = k.pack.gemm.k;
  if (in.dense()) {
    a.a = &in(k.image_begin, 0, 0, 0);
    a.rows = k.image_end - k.image_begin;
    a.c = &out(k.image_begin, 0, 0, 0);
    int8_gemm<Arch>(a);
    return;
  }
  for (int n = k.image_begin; n < k.image_end; ++n) {
    std::uint8_t* row = k.scratch;
    for (int y = 0; y < in.height; ++y)
      for (int x = 0; x < in.width; ++x, row += in.channels)
        std::memcpy(row, &in(n, y, x, 0), static_cast<std::size_t>(in.channels));
    a.a = k.scratch;
    a.rows = 1;
    a.c = &out(n, 0, 0, 0);
    int8_gemm<Arch>(a);
  }
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::dense> {
  static void run(const simd::int8_kernel_args& a) { simd::int8_dense<Arch>(a); }
};

}  // namespace lmnet

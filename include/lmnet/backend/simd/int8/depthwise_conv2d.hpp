// SPDX-License-Identifier: Apache-2.0
// An int8 depthwise convolution, one output row at a time, vectorised across channels: the sums
// of (x - zero) * w in int32, then requantized. Taps in the padding are skipped.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/config.hpp>
#include <lmnet/quantization/params.hpp>

#if defined(__AVX512BW__)
#include <lmnet/backend/simd/int8/gemm_tile_avx512.hpp>
#endif

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace lmnet::simd {

namespace detail {

// Output pixel x, channels [c, c + lanes) (lanes <= 16), in plain C++.
inline void int8_depthwise_pixel(const int8_kernel_args& k, int n, int y, int x, int c, int lanes) {
  const layer_spec& s = k.n.spec;
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  const int8_depthwise_layout& l = k.pack.depthwise;
  const auto* w = reinterpret_cast<const std::int8_t*>(k.packed);
  const auto* bias = reinterpret_cast<const std::int32_t*>(k.packed + l.bias_offset());
  const auto* multiplier = reinterpret_cast<const float*>(k.packed + l.multiplier_offset());
  const int zero = k.q.input.zero_point;
  for (int j = c; j < c + lanes; ++j) {
    std::int32_t sum = bias[j];
    for (int ky = 0; ky < s.kernel.height; ++ky) {
      const int iy = y * s.stride.height - s.padding.height + ky;
      if (iy < 0 || iy >= in.height) continue;
      for (int kx = 0; kx < s.kernel.width; ++kx) {
        const int ix = x * s.stride.width - s.padding.width + kx;
        if (ix < 0 || ix >= in.width) continue;
        sum += (in(n, iy, ix, j) - zero) * w[(ky * s.kernel.width + kx) * l.padded() + j];
      }
    }
    const std::uint8_t q =
        k.residual.data == nullptr
            ? requantize(sum, multiplier[j], k.q.output.zero_point, k.q.clamp)
            : requantize(sum, multiplier[j], k.residual(n, y, x, j) - k.q.second.zero_point,
                         k.q.second_multiplier, k.q.output.zero_point, k.q.clamp);
    k.output(n, y, x, j * k.channel_step) = q;
  }
}

#if defined(__AVX512BW__)
// The same for 16 channels at once (the last `lanes` of them stored).
inline void int8_depthwise_pixel_avx512(const int8_kernel_args& k, int n, int y, int x, int c,
                                        int lanes) {
  const layer_spec& s = k.n.spec;
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  const int8_depthwise_layout& l = k.pack.depthwise;
  const auto* w = reinterpret_cast<const std::int8_t*>(k.packed);
  const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1u);
  __m512i acc = _mm512_maskz_loadu_epi32(
      mask, reinterpret_cast<const std::int32_t*>(k.packed + l.bias_offset()) + c);
  const __m512i zero = _mm512_set1_epi32(k.q.input.zero_point);
  for (int ky = 0; ky < s.kernel.height; ++ky) {
    const int iy = y * s.stride.height - s.padding.height + ky;
    if (iy < 0 || iy >= in.height) continue;
    const std::uint8_t* row = &in(n, iy, 0, c);
    for (int kx = 0; kx < s.kernel.width; ++kx) {
      const int ix = x * s.stride.width - s.padding.width + kx;
      if (ix < 0 || ix >= in.width) continue;
      const __m512i v = _mm512_sub_epi32(
          _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, row + ix * in.channel_stride)), zero);
      // Weights widened to 32 bits: a 16-bit multiply-add with a zero upper half is the product.
      const __m512i t = _mm512_cvtepi8_epi32(_mm_loadu_si128(
          reinterpret_cast<const __m128i*>(w + (ky * s.kernel.width + kx) * l.padded() + c)));
      acc = _mm512_add_epi32(acc, _mm512_madd_epi16(v, t));
    }
  }
  const __m512 m = _mm512_maskz_loadu_ps(
      mask, reinterpret_cast<const float*>(k.packed + l.multiplier_offset()) + c);
  __m512i q = _mm512_add_epi32(rescale16(acc, m), _mm512_set1_epi32(k.q.output.zero_point));
  if (k.residual.data != nullptr) {
    const __m512i r =
        _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(mask, &k.residual(n, y, x, c))),
                         _mm512_set1_epi32(k.q.second.zero_point));
    q = _mm512_add_epi32(q, rescale16(r, _mm512_set1_ps(k.q.second_multiplier)));
  }
  q = _mm512_min_epi32(_mm512_max_epi32(q, _mm512_set1_epi32(k.q.clamp.low)),
                       _mm512_set1_epi32(k.q.clamp.high));
  std::uint8_t* o = &k.output(n, y, x, c * k.channel_step);
  if (k.channel_step == 1) {
    _mm_mask_storeu_epi8(o, mask, _mm512_cvtepi32_epi8(q));
  } else {
    alignas(64) std::int32_t lane[16];
    _mm512_store_si512(lane, q);
    for (int j = 0; j < lanes; ++j) o[j * k.channel_step] = static_cast<std::uint8_t>(lane[j]);
  }
}
#endif

}  // namespace detail

/// Output rows [q0, q1) of the batch.
template <class Arch>
void int8_depthwise(const int8_kernel_args& k, int q0, int q1) {
  const int channels = k.output.channels;
  for_each_row(k.output.height, q0, q1, [&](int n, int y) {
    for (int x = 0; x < k.output.width; ++x) {
      for (int c = 0; c < channels; c += 16) {
        const int lanes = std::min(16, channels - c);
#if defined(__AVX512BW__)
        if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
          detail::int8_depthwise_pixel_avx512(k, n, y, x, c, lanes);
          continue;
        }
#endif
        detail::int8_depthwise_pixel(k, n, y, x, c, lanes);
      }
    }
  });
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::depthwise_conv2d> {
  static void run(const simd::int8_kernel_args& a) {
    simd::int8_depthwise<Arch>(a, a.first, a.last);
  }
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
// The int8 product's tile on AVX-512: vpdpbusd (four uint8 x int8 products into an int32 lane)
// with VNNI; without it, the same sums from two 16-bit multiply-adds. The requantization rounds
// as the portable tile does (quantization/params.hpp), 16 lanes at a time.
#pragma once

#include <lmnet/backend/simd/int8/gemm_tile.hpp>
#include <lmnet/config.hpp>

#include <cstdint>
#include <cstring>
#include <immintrin.h>

namespace lmnet::simd::detail {

// acc + the four products of x's bytes (uint8) and w's (int8) in every int32 lane.
LMNET_FORCEINLINE __m512i dot4(__m512i acc, __m512i x, __m512i w) {
#if defined(__AVX512VNNI__)
  return _mm512_dpbusd_epi32(acc, x, w);
#else
  // Even and odd bytes apart, widened to 16 bits (products and pair sums fit: 255 * 127 * 2).
  const __m512i mask = _mm512_set1_epi16(0x00FF);
  const __m512i x_even = _mm512_and_si512(x, mask), x_odd = _mm512_srli_epi16(x, 8);
  const __m512i w_even = _mm512_srai_epi16(_mm512_slli_epi16(w, 8), 8);
  const __m512i w_odd = _mm512_srai_epi16(w, 8);
  return _mm512_add_epi32(
      acc, _mm512_add_epi32(_mm512_madd_epi16(x_even, w_even), _mm512_madd_epi16(x_odd, w_odd)));
#endif
}

// round(x * m) of 16 lanes, x clamped to +-2^24 as round_rescaled does.
LMNET_FORCEINLINE __m512i rescale16(__m512i x, __m512 m) {
  const __m512 limit = _mm512_set1_ps(lmnet::detail::rescale_limit);
  __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(x), m);
  f = _mm512_maskz_min_ps(
      0xFFFF, _mm512_maskz_max_ps(0xFFFF, f, _mm512_sub_ps(_mm512_setzero_ps(), limit)), limit);
  return _mm512_cvtps_epi32(f);
}

template <int Rows, int Blocks>
LMNET_FLATTEN void int8_tile_avx512(const int8_tile_args& args) {
  const int8_tile_args t = args;  // a copy the compiler keeps in registers (see gemm_tile)
  __m512i acc[Rows][Blocks];
  for (int v = 0; v < Blocks; ++v) {
    const __m512i bias = _mm512_loadu_si512(t.bias + v * 16);
    for (int r = 0; r < Rows; ++r) acc[r][v] = bias;
  }
  for (int s = 0; s < t.steps; ++s) {
    __m512i w[Blocks];
    for (int v = 0; v < Blocks; ++v) w[v] = _mm512_load_si512(t.b + v * t.block_stride + s * 64);
    for (int r = 0; r < Rows; ++r) {
      std::int32_t four;
      std::memcpy(&four, t.a + r * t.a_stride + s * 4, 4);
      const __m512i x = _mm512_set1_epi32(four);
      for (int v = 0; v < Blocks; ++v) acc[r][v] = dot4(acc[r][v], x, w[v]);
    }
  }
  const __m512i out_zero = _mm512_set1_epi32(t.out_zero);
  const __m512i low = _mm512_set1_epi32(t.clamp.low), high = _mm512_set1_epi32(t.clamp.high);
  for (int v = 0; v < Blocks; ++v) {
    const __m512 m = _mm512_loadu_ps(t.multiplier + v * 16);
    const int lanes = v == Blocks - 1 ? t.last_lanes : 16;
    const __mmask16 mask = static_cast<__mmask16>((1u << lanes) - 1u);
    for (int r = 0; r < Rows; ++r) {
      __m512i q = _mm512_add_epi32(rescale16(acc[r][v], m), out_zero);
      if (t.residual != nullptr) {
        const __m128i bytes =
            _mm_maskz_loadu_epi8(mask, t.residual + r * t.residual_stride + v * 16);
        const __m512i x =
            _mm512_sub_epi32(_mm512_cvtepu8_epi32(bytes), _mm512_set1_epi32(t.residual_zero));
        q = _mm512_add_epi32(q, rescale16(x, _mm512_set1_ps(t.residual_multiplier)));
      }
      q = _mm512_min_epi32(_mm512_max_epi32(q, low), high);
      std::uint8_t* c = t.c + r * t.c_stride + v * 16 * t.c_step;
      if (t.c_step == 1) {
        _mm_mask_storeu_epi8(c, mask, _mm512_cvtepi32_epi8(q));
      } else {
        alignas(64) std::int32_t lane[16];
        _mm512_store_si512(lane, q);
        for (int l = 0; l < lanes; ++l) c[l * t.c_step] = static_cast<std::uint8_t>(lane[l]);
      }
    }
  }
}

}  // namespace lmnet::simd::detail

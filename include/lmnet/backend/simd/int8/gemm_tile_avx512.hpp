// SPDX-License-Identifier: Apache-2.0
// The int8 product's tile on AVX-512: vpdpbusd (four uint8 x int8 products into an int32 lane)
// with VNNI; without it, the same sums from two 16-bit multiply-adds. The requantization rounds
// as the portable tile does (quantization/params.hpp), 16 lanes at a time.
#pragma once

#include <lmnet/backend/simd/int8/gemm_tile.hpp>
#include <lmnet/backend/simd/vector.hpp>
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

// The zero-masked forms of the intrinsics below compute the same as the plain ones without GCC
// 12's warning about their undefined pass-through register.

// round(x * m) of 16 lanes, x clamped to +-2^24 as round_rescaled does.
LMNET_FORCEINLINE __m512i rescale16(__m512i x, __m512 m) {
  const __m512 limit = _mm512_set1_ps(lmnet::detail::rescale_limit);
  __m512 f = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, x), m);
  f = _mm512_maskz_min_ps(
      0xFFFF, _mm512_maskz_max_ps(0xFFFF, f, _mm512_sub_ps(_mm512_setzero_ps(), limit)), limit);
  return _mm512_maskz_cvtps_epi32(0xFFFF, f);
}

// The requantization of 16 int32 sums to uint8 (quantization/params.hpp), as the reference
// computes it. With one term, the rescaled sum is clamped to [low - zero, high - zero] before it
// is rounded: the same codes as clamping after rounding, in fewer instructions.
struct requantize16 {
  __m512i zero, low, high;
  __m512 low_float, high_float;
  __m512i second_zero;
  __m512 second_multiplier;

  requantize16(std::int32_t out_zero, quant_clamp clamp, std::int32_t second_zero_point = 0,
               float second_m = 0.0f)
      : zero(_mm512_set1_epi32(out_zero)),
        low(_mm512_set1_epi32(clamp.low)),
        high(_mm512_set1_epi32(clamp.high)),
        low_float(_mm512_set1_ps(static_cast<float>(clamp.low - out_zero))),
        high_float(_mm512_set1_ps(static_cast<float>(clamp.high - out_zero))),
        second_zero(_mm512_set1_epi32(second_zero_point)),
        second_multiplier(_mm512_set1_ps(second_m)) {}

  LMNET_FORCEINLINE __m512i operator()(__m512i sum, __m512 m) const {
    __m512 f = _mm512_mul_ps(_mm512_maskz_cvtepi32_ps(0xFFFF, sum), m);
    f = _mm512_maskz_min_ps(0xFFFF, _mm512_maskz_max_ps(0xFFFF, f, low_float), high_float);
    return _mm512_add_epi32(_mm512_maskz_cvtps_epi32(0xFFFF, f), zero);
  }
  // With a second term: the uint8 codes `second` (widened), rescaled and rounded on their own.
  LMNET_FORCEINLINE __m512i operator()(__m512i sum, __m512 m, __m512i second) const {
    const __m512i q = _mm512_add_epi32(
        _mm512_add_epi32(rescale16(sum, m),
                         rescale16(_mm512_sub_epi32(second, second_zero), second_multiplier)),
        zero);
    return _mm512_maskz_min_epi32(0xFFFF, _mm512_maskz_max_epi32(0xFFFF, q, low), high);
  }
};

// 16 uint8 codes held as int32 lanes, to c[0 .. 15], the lanes of `mask` only.
LMNET_FORCEINLINE void store16(std::uint8_t* c, __m512i q, __mmask16 mask) {
  _mm_mask_storeu_epi8(c, mask, _mm512_maskz_cvtepi32_epi8(0xFFFF, q));
}

LMNET_FORCEINLINE __m512i load_widened(const std::uint8_t* p, __mmask16 mask) {
  return _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_maskz_loadu_epi8(mask, p));
}

// With `Residual`, the requantization's second term: a tile of its own, so that the one-term
// tile's constants leave the accumulators every register they need.
template <int Rows, int Blocks, bool Residual>
LMNET_FLATTEN void int8_tile_avx512(const int8_tile_args& args) {
  const int8_tile_args t = args;  // a copy the compiler keeps in registers (see gemm_tile)
  // Loops the compiler unrolls: the accumulators must stay in registers.
  __m512i acc[Rows][Blocks];
#pragma GCC unroll 16
  for (int v = 0; v < Blocks; ++v) {
    const __m512i bias = _mm512_loadu_si512(t.bias + v * 16);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) acc[r][v] = bias;
  }
  const std::int8_t* b = t.b;
  for (int s = 0; s < t.steps; ++s, b += 64) {
    __m512i w[Blocks];
#pragma GCC unroll 16
    for (int v = 0; v < Blocks; ++v) w[v] = _mm512_load_si512(b + v * t.block_stride);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) {
      std::int32_t four;
      std::memcpy(&four, t.a + r * t.a_stride + s * 4, 4);
      const __m512i x = _mm512_set1_epi32(four);
#pragma GCC unroll 16
      for (int v = 0; v < Blocks; ++v) acc[r][v] = dot4(acc[r][v], x, w[v]);
    }
  }
  const requantize16 requantize(t.out_zero, t.clamp, t.residual_zero, t.residual_multiplier);
  // Seen by the compiler as new values: otherwise GCC 12, allocating registers for the float
  // conversions of the epilogue, copies every accumulator through another register at every step
  // of the loop above.
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 16
    for (int v = 0; v < Blocks; ++v) asm("" : "+v"(acc[r][v]));
  }
  unroll<Blocks>([&](auto v) {
    const __m512 m = _mm512_loadu_ps(t.multiplier + v * 16);
    const int lanes = v == Blocks - 1 ? t.last_lanes : 16;
    const auto mask = static_cast<__mmask16>((1u << lanes) - 1u);
    unroll<Rows>([&](auto r) {
      __m512i q;
      if constexpr (Residual) {
        q = requantize(acc[r][v], m,
                       load_widened(t.residual + r * t.residual_stride + v * 16, mask));
      } else {
        q = requantize(acc[r][v], m);
      }
      store16(t.c + r * t.c_stride + v * 16, q, mask);
    });
  });
}

}  // namespace lmnet::simd::detail

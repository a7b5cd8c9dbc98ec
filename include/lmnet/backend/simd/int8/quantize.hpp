// SPDX-License-Identifier: Apache-2.0
// The network's fp32 input to uint8 codes, and its uint8 output back, many values at a time: the
// same codes and values as quantize() and dequantize() (quantization/params.hpp).
#pragma once

#include <lmnet/quantization/params.hpp>

#if defined(__AVX512BW__)
#include <immintrin.h>
#endif

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace lmnet::simd {

/// codes[i] = quantize(values[i], p) for i < n.
template <class Arch>
void quantize_values(const float* values, std::uint8_t* codes, std::size_t n,
                     const quant_params& p) {
  std::size_t i = 0;
#if defined(__AVX512BW__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    // Clamped to [-zero, 255 - zero] before rounding: the codes of clamping after it.
    const __m512 inverse = _mm512_set1_ps(1.0f / p.scale);
    const __m512 low = _mm512_set1_ps(static_cast<float>(-p.zero_point));
    const __m512 high = _mm512_set1_ps(static_cast<float>(255 - p.zero_point));
    const __m512i zero = _mm512_set1_epi32(p.zero_point);
    for (; i + 16 <= n; i += 16) {
      __m512 f = _mm512_mul_ps(_mm512_loadu_ps(values + i), inverse);
      f = _mm512_maskz_min_ps(0xFFFF, _mm512_maskz_max_ps(0xFFFF, f, low), high);
      const __m512i q = _mm512_add_epi32(_mm512_maskz_cvtps_epi32(0xFFFF, f), zero);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + i),
                       _mm512_maskz_cvtepi32_epi8(0xFFFF, q));
    }
  }
#endif
  for (; i < n; ++i) codes[i] = quantize(values[i], p);
}

}  // namespace lmnet::simd

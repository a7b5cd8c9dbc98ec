// SPDX-License-Identifier: Apache-2.0
// One SIMD register of floats for an xsimd architecture, and the few operations the kernels need
// beyond xsimd 8.1: fused multiply-add on every ISA, and loads/stores of the first n lanes.
#pragma once

#include <lmnet/config.hpp>
#include <lmnet/core/activation.hpp>

#include <xsimd/xsimd.hpp>

#include <cstddef>
#include <type_traits>
#include <utility>

namespace lmnet::simd {

template <class Arch>
struct vector {
  using batch = xsimd::batch<float, Arch>;
  static constexpr int width = static_cast<int>(batch::size);
  /// Registers the compiler can keep accumulators in: 32 on AVX-512 and AArch64, 16 elsewhere.
  static constexpr int registers =
      std::is_base_of_v<xsimd::avx512f, Arch> || std::is_base_of_v<xsimd::neon64, Arch> ? 32 : 16;

  static LMNET_FORCEINLINE batch load(const float* p) { return batch::load_unaligned(p); }
  static LMNET_FORCEINLINE batch load_aligned(const float* p) { return batch::load_aligned(p); }
  static LMNET_FORCEINLINE void store(float* p, batch v) { v.store_unaligned(p); }
  static LMNET_FORCEINLINE batch broadcast(float x) { return batch(x); }
  static LMNET_FORCEINLINE batch zero() { return batch(0.0f); }

  /// a * b + c, one rounding where the ISA has FMA (xsimd 8.1 leaves AVX-512 to the compiler).
  static LMNET_FORCEINLINE batch fma(batch a, batch b, batch c) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) return _mm512_fmadd_ps(a, b, c);
#endif
    return xsimd::fma(a, b, c);
  }

  /// The first `n` lanes from `p` (0 <= n <= width), zeros in the others; reads nothing past
  /// p[n - 1].
  static LMNET_FORCEINLINE batch load_first(const float* p, int n) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
    }
#endif
#if XSIMD_WITH_AVX2
    if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) return _mm256_maskload_ps(p, lane_mask(n));
#endif
    alignas(64) float lanes[width] = {};
    for (int i = 0; i < n; ++i) lanes[i] = p[i];
    return batch::load_aligned(lanes);
  }

  /// Writes the first `n` lanes of `v` to p[0 .. n - 1] and nothing else.
  static LMNET_FORCEINLINE void store_first(float* p, batch v, int n) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
      return;
    }
#endif
#if XSIMD_WITH_AVX2
    if constexpr (std::is_base_of_v<xsimd::avx2, Arch>) {
      _mm256_maskstore_ps(p, lane_mask(n), v);
      return;
    }
#endif
    alignas(64) float lanes[width];
    v.store_aligned(lanes);
    for (int i = 0; i < n; ++i) p[i] = lanes[i];
  }

  /// Writes lane j of `v` to p[j * step] for j < n: a channel shuffle done while storing. Two
  /// permutes and two masked stores for step 2 on AVX-512; lane by lane otherwise.
  static LMNET_FORCEINLINE void store_strided(float* p, batch v, int step, int n) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      if (step == 2) {
        // Lane j goes to position 2j: lanes 0..7 fill the even positions of the first register,
        // lanes 8..15 those of the second.
        const __m512i low = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
        const __m512i high =
            _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
        const unsigned even = 0x5555u;
        const unsigned first = n >= 8 ? 0xFFFFu : (1u << (2 * n)) - 1u;
        const unsigned second = n <= 8 ? 0u : (1u << (2 * (n - 8))) - 1u;
        _mm512_mask_storeu_ps(p, static_cast<__mmask16>(even & first),
                              _mm512_maskz_permutexvar_ps(static_cast<__mmask16>(0xFFFF), low, v));
        _mm512_mask_storeu_ps(p + 16, static_cast<__mmask16>(even & second),
                              _mm512_maskz_permutexvar_ps(static_cast<__mmask16>(0xFFFF), high, v));
        return;
      }
    }
#endif
    alignas(64) float lanes[width];
    v.store_aligned(lanes);
    for (int i = 0; i < n; ++i) p[static_cast<std::ptrdiff_t>(i) * step] = lanes[i];
  }

  // GCC 12 warns about the undefined pass-through register of _mm512_max_ps/_mm512_min_ps
  // (-Wmaybe-uninitialized); the zero-masked forms compute the same without one.
  static LMNET_FORCEINLINE batch max(batch a, batch b) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      return _mm512_maskz_max_ps(static_cast<__mmask16>(0xFFFF), a, b);
    }
#endif
    return xsimd::max(a, b);
  }
  static LMNET_FORCEINLINE batch min(batch a, batch b) {
#if XSIMD_WITH_AVX512F
    if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
      return _mm512_maskz_min_ps(static_cast<__mmask16>(0xFFFF), a, b);
    }
#endif
    return xsimd::min(a, b);
  }

  static LMNET_FORCEINLINE batch activate(batch v, activation act) {
    if (act == activation::relu) return max(v, zero());
    if (act == activation::relu6) return min(max(v, zero()), broadcast(6.0f));
    return v;
  }

 private:
#if XSIMD_WITH_AVX2
  static LMNET_FORCEINLINE __m256i lane_mask(int n) {
    alignas(64) static constexpr int ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                            0,  0,  0,  0,  0,  0,  0,  0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ones_then_zeros + 8 - n));
  }
#endif
};

/// Calls f(std::integral_constant<int, 0>{}) ... f(std::integral_constant<int, N - 1>{}): a loop
/// the compiler must unroll, so register tiles stay in registers.
template <int N, class F>
LMNET_FORCEINLINE void unroll(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    (f(std::integral_constant<int, I>{}), ...);
  }
  (std::make_integer_sequence<int, N>{});
}

}  // namespace lmnet::simd

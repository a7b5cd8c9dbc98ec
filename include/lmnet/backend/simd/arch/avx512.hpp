// SPDX-License-Identifier: Apache-2.0
// AVX-512: fused multiply-add (xsimd 8.1 leaves it to the compiler), masked loads and stores, the
// shuffled store of a channel shuffle, and max/min without GCC 12's pass-through warning.
#pragma once

#include <lmnet/backend/simd/arch/generic.hpp>

namespace lmnet::simd::isa {

template <class A>
LMNET_FORCEINLINE floats<A> fma(floats<A> a, floats<A> b, floats<A> c, const xsimd::avx512f&) {
  return _mm512_fmadd_ps(a, b, c);
}

template <class A>
LMNET_FORCEINLINE floats<A> load_first(const float* p, int n, const xsimd::avx512f&) {
  return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p);
}

template <class A>
LMNET_FORCEINLINE void store_first(float* p, floats<A> v, int n, const xsimd::avx512f&) {
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), v);
}

/// Two permutes and two masked stores for step 2; lane by lane for other steps.
template <class A>
LMNET_FORCEINLINE void store_strided(float* p, floats<A> v, int step, int n,
                                     const xsimd::avx512f&) {
  if (step != 2) return store_strided<A>(p, v, step, n, xsimd::generic{});
  // Lane j goes to position 2j: lanes 0..7 fill the even positions of the first register, lanes
  // 8..15 those of the second.
  const __m512i low = _mm512_set_epi32(7, 7, 6, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 0, 0);
  const __m512i high = _mm512_set_epi32(15, 15, 14, 14, 13, 13, 12, 12, 11, 11, 10, 10, 9, 9, 8, 8);
  const unsigned even = 0x5555u;
  const unsigned first = n >= 8 ? 0xFFFFu : (1u << (2 * n)) - 1u;
  const unsigned second = n <= 8 ? 0u : (1u << (2 * (n - 8))) - 1u;
  _mm512_mask_storeu_ps(p, static_cast<__mmask16>(even & first),
                        _mm512_maskz_permutexvar_ps(static_cast<__mmask16>(0xFFFF), low, v));
  _mm512_mask_storeu_ps(p + 16, static_cast<__mmask16>(even & second),
                        _mm512_maskz_permutexvar_ps(static_cast<__mmask16>(0xFFFF), high, v));
}

// GCC 12 warns about the undefined pass-through register of _mm512_max_ps/_mm512_min_ps
// (-Wmaybe-uninitialized); the zero-masked forms compute the same without one.
template <class A>
LMNET_FORCEINLINE floats<A> max(floats<A> a, floats<A> b, const xsimd::avx512f&) {
  return _mm512_maskz_max_ps(static_cast<__mmask16>(0xFFFF), a, b);
}

template <class A>
LMNET_FORCEINLINE floats<A> min(floats<A> a, floats<A> b, const xsimd::avx512f&) {
  return _mm512_maskz_min_ps(static_cast<__mmask16>(0xFFFF), a, b);
}

}  // namespace lmnet::simd::isa

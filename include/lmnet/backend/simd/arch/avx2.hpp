// SPDX-License-Identifier: Apache-2.0
// AVX2: masked loads and stores of a register's first lanes.
#pragma once

#include <lmnet/backend/simd/arch/generic.hpp>

namespace lmnet::simd::isa {

namespace detail {

// Lanes [0, n) set, the others clear.
LMNET_FORCEINLINE __m256i first_lanes(int n) {
  alignas(64) static constexpr int ones_then_zeros[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                          0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ones_then_zeros + 8 - n));
}

}  // namespace detail

template <class A>
LMNET_FORCEINLINE floats<A> load_first(const float* p, int n, const xsimd::avx2&) {
  return _mm256_maskload_ps(p, detail::first_lanes(n));
}

template <class A>
LMNET_FORCEINLINE void store_first(float* p, floats<A> v, int n, const xsimd::avx2&) {
  _mm256_maskstore_ps(p, detail::first_lanes(n), v);
}

}  // namespace lmnet::simd::isa

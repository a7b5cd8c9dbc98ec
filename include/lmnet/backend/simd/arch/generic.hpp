// SPDX-License-Identifier: Apache-2.0
// The portable forms of the register operations that xsimd 8.1 lacks: every instruction set
// falls back to these (an xsimd architecture tag converts to xsimd::generic).
#pragma once

#include <lmnet/config.hpp>

#include <xsimd/xsimd.hpp>

#include <cstddef>

namespace lmnet::simd::isa {

template <class A>
using floats = xsimd::batch<float, A>;

/// a * b + c.
template <class A>
LMNET_FORCEINLINE floats<A> fma(floats<A> a, floats<A> b, floats<A> c, const xsimd::generic&) {
  return xsimd::fma(a, b, c);
}

/// The first `n` lanes from `p`, zeros in the others; reads nothing past p[n - 1].
template <class A>
LMNET_FORCEINLINE floats<A> load_first(const float* p, int n, const xsimd::generic&) {
  alignas(64) float lanes[floats<A>::size] = {};
  for (int i = 0; i < n; ++i) lanes[i] = p[i];
  return floats<A>::load_aligned(lanes);
}

/// Writes the first `n` lanes of `v` to p[0 .. n - 1] and nothing else.
template <class A>
LMNET_FORCEINLINE void store_first(float* p, floats<A> v, int n, const xsimd::generic&) {
  alignas(64) float lanes[floats<A>::size];
  v.store_aligned(lanes);
  for (int i = 0; i < n; ++i) p[i] = lanes[i];
}

/// Writes lane j of `v` to p[j * step] for j < n, lane by lane.
template <class A>
LMNET_FORCEINLINE void store_strided(float* p, floats<A> v, int step, int n,
                                     const xsimd::generic&) {
  alignas(64) float lanes[floats<A>::size];
  v.store_aligned(lanes);
  for (int i = 0; i < n; ++i) p[static_cast<std::ptrdiff_t>(i) * step] = lanes[i];
}

template <class A>
LMNET_FORCEINLINE floats<A> max(floats<A> a, floats<A> b, const xsimd::generic&) {
  return xsimd::max(a, b);
}

template <class A>
LMNET_FORCEINLINE floats<A> min(floats<A> a, floats<A> b, const xsimd::generic&) {
  return xsimd::min(a, b);
}

}  // namespace lmnet::simd::isa

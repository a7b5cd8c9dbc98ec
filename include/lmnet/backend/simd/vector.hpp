// SPDX-License-Identifier: Apache-2.0
// One SIMD register of floats for an xsimd architecture, and the few operations the kernels need
// beyond xsimd 8.1 (fused multiply-add on every ISA, loads and stores of the first n lanes), each
// taken from the file of its instruction set (arch/).
#pragma once

#include <lmnet/backend/simd/arch/isa.hpp>
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

  /// a * b + c, one rounding where the ISA has FMA.
  static LMNET_FORCEINLINE batch fma(batch a, batch b, batch c) {
    return isa::fma<Arch>(a, b, c, Arch{});
  }

  /// The first `n` lanes from `p` (0 <= n <= width), zeros in the others; reads nothing past
  /// p[n - 1].
  static LMNET_FORCEINLINE batch load_first(const float* p, int n) {
    return isa::load_first<Arch>(p, n, Arch{});
  }

  /// Writes the first `n` lanes of `v` to p[0 .. n - 1] and nothing else.
  static LMNET_FORCEINLINE void store_first(float* p, batch v, int n) {
    isa::store_first<Arch>(p, v, n, Arch{});
  }

  /// Writes lane j of `v` to p[j * step] for j < n: a channel shuffle done while storing.
  static LMNET_FORCEINLINE void store_strided(float* p, batch v, int step, int n) {
    isa::store_strided<Arch>(p, v, step, n, Arch{});
  }

  static LMNET_FORCEINLINE batch max(batch a, batch b) { return isa::max<Arch>(a, b, Arch{}); }
  static LMNET_FORCEINLINE batch min(batch a, batch b) { return isa::min<Arch>(a, b, Arch{}); }

  static LMNET_FORCEINLINE batch activate(batch v, activation act) {
    if (act == activation::relu) return max(v, zero());
    if (act == activation::relu6) return min(max(v, zero()), broadcast(6.0f));
    return v;
  }
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

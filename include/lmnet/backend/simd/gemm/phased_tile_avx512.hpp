// SPDX-License-Identifier: Apache-2.0
// The four-input form's tiles (gemm_layout::phases = 4), AVX-512 only: each step broadcasts four
// inputs of a row to the four lane groups of a register, and the partial sums of each output
// register are added once, at the end.
#pragma once

#include <lmnet/backend/simd/gemm/layout.hpp>
#include <lmnet/backend/simd/gemm/tile.hpp>
#include <lmnet/backend/simd/vector.hpp>

#include <array>
#include <type_traits>
#include <utility>

namespace lmnet::simd::detail {

// Lanes 4s, 4s + 1 of the result: the sums of lanes (4s, 4s + 1) and (4s + 2, 4s + 3) of a;
// lanes 4s + 2, 4s + 3: the same of b.
LMNET_FORCEINLINE __m512 pair_sums(__m512 a, __m512 b) {
  return _mm512_add_ps(_mm512_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)));
}

// Lanes 4s, 4s + 1 of the result: two halves of the sum of lane group s of a.
LMNET_FORCEINLINE __m512 half_sums(__m512 a) {
  return _mm512_add_ps(a, _mm512_maskz_permute_ps(0xFFFF, a, _MM_SHUFFLE(1, 0, 3, 2)));
}

// The lanes of the final sums of an output register shared by `Here` weight registers: output
// channel o = s * Here + j is the sum of lanes l[o] and l[16 + o] = l[o] + 1 of the pair (x, y)
// (lane 16 + i: lane i of y), where x holds registers 0 and 1 in pairs and y register 2.
template <int Here>
alignas(64) inline constexpr std::array<int, 32> phased_sum_lanes = [] {
  std::array<int, 32> l{};
  for (int o = 0; o < 4 * Here; ++o) {
    const int s = o / Here, j = o % Here;
    l[static_cast<std::size_t>(o)] = j < 2 ? 4 * s + 2 * j : 16 + 4 * s;
    l[static_cast<std::size_t>(16 + o)] = l[static_cast<std::size_t>(o)] + 1;
  }
  return l;
}();

// A phases = 4 tile (see gemm_layout): Rows rows by StepVectors weight registers. Each step
// broadcasts four inputs of a row to the four lane groups; at the end, each group of up to four
// registers is summed lane group by lane group into one output register, the gaps closed in the
// same permutes.
template <class Arch, int Rows, int StepVectors>
LMNET_FLATTEN void phased_tile(const gemm_tile_args& t) {
  // The zero-masked intrinsics: GCC 12 warns about the undefined pass-through of the others.
  constexpr __mmask16 all = 0xFFFF;
  __m512 acc[Rows][StepVectors];
  unroll<StepVectors>([&](auto v) {
    const __m512 bias = _mm512_load_ps(t.bias + v * 16);
    unroll<Rows>([&](auto r) { acc[r][v] = bias; });
  });
  const float* a[Rows];
  unroll<Rows>([&](auto r) { a[r] = t.a + r * t.a_stride; });
  auto step = [&](const float* b, auto load_four) {
    __m512 w[StepVectors];
    unroll<StepVectors>([&](auto v) { w[v] = _mm512_load_ps(b + v * 16); });
    unroll<Rows>([&](auto r) {
      const __m512 x = _mm512_maskz_broadcast_f32x4(all, load_four(a[r]));
      unroll<StepVectors>([&](auto v) { acc[r][v] = _mm512_fmadd_ps(x, w[v], acc[r][v]); });
    });
  };
  const int whole = t.k / 4, rest = t.k % 4;
  const float* b = t.b;
  for (int i = 0; i < whole; ++i, b += StepVectors * 16)
    step(b, [&](const float* row) { return _mm_loadu_ps(row + 4 * i); });
  if (rest != 0) {
    // The last inputs, without reading past the row.
    step(b, [&](const float* row) {
      alignas(16) float four[4] = {};
      for (int j = 0; j < rest; ++j) four[j] = row[4 * whole + j];
      return _mm_load_ps(four);
    });
  }
  constexpr int outputs = (StepVectors + 3) / 4;
  unroll<Rows>([&](auto r) {
    unroll<outputs>([&](auto q) {
      constexpr int first = 4 * q, here = phased_registers_sharing(StepVectors, q);
      const __m512* part = acc[r] + first;
      const __m512 x = here >= 2 ? pair_sums(part[0], part[1]) : half_sums(part[0]);
      __m512 sum;
      if constexpr (here == 4) {
        // Lane 4s + j: lane group s of register j, summed; no gaps.
        sum = pair_sums(x, pair_sums(part[2], part[3]));
      } else {
        const __m512 y = here == 3 ? half_sums(part[2]) : x;
        const int* lanes = phased_sum_lanes<here>.data();
        sum = _mm512_add_ps(_mm512_maskz_permutex2var_ps(all, x, _mm512_load_si512(lanes), y),
                            _mm512_maskz_permutex2var_ps(all, x, _mm512_load_si512(lanes + 16), y));
      }
      store_register<Arch>(t, r, q, q == outputs - 1, sum);
    });
  });
}

template <class Arch>
requires std::is_base_of_v<xsimd::avx512f, Arch>
struct phased_kernels<Arch> {
  static constexpr bool available = true;
  using function = void (*)(const gemm_tile_args&);
  static constexpr auto table = []<int... S>(std::integer_sequence<int, S...>) {
    return std::array<std::array<function, 2>, phased_max_step_vectors>{
        {{&phased_tile<Arch, phased_tile_rows(S + 1), S + 1>, &phased_tile<Arch, 1, S + 1>}...}};
  }
  (std::make_integer_sequence<int, phased_max_step_vectors>{});
};

}  // namespace lmnet::simd::detail

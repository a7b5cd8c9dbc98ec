// SPDX-License-Identifier: Apache-2.0
// The int8 product every int8 pointwise, standard and dense layer runs on: uint8 rows of A (pixels
// read in place, or patch rows) times int8 weights packed at load time (int8/gemm_layout.hpp),
// summed in int32 and requantized to uint8 with the residual while the tile is in registers.
#pragma once

#include <lmnet/backend/simd/int8/gemm_layout.hpp>
#include <lmnet/backend/simd/int8/gemm_tile.hpp>
#include <lmnet/quantization/params.hpp>

// The tiles of instruction sets that have their own.
#if defined(__AVX512BW__)
#include <lmnet/backend/simd/int8/gemm_tile_avx512.hpp>
#endif

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace lmnet::simd {

/// One int8 product: `rows` rows of A (row r at a + r * a_stride, layout.k bytes; up to 3 bytes
/// past a row are read and multiplied by zero weights, so buffers keep that much slack), weights
/// packed as `layout`, output row r at c + r * c_stride.
struct int8_gemm_args {
  const std::uint8_t* a = nullptr;
  std::ptrdiff_t a_stride = 0;
  int rows = 0;
  const std::byte* packed = nullptr;
  int8_gemm_layout layout{};
  std::uint8_t* c = nullptr;
  std::ptrdiff_t c_stride = 0;
  int c_step = 1;  // output channel j of a row goes to c[j * c_step] (a shuffled store)
  const std::uint8_t* residual = nullptr;  // a second term added before the clamp, or nullptr
  std::ptrdiff_t residual_stride = 0;
  std::int32_t residual_zero = 0;
  float residual_multiplier = 0.0f;
  std::int32_t out_zero = 0;
  quant_clamp clamp{};
  int first_block = 0;  // blocks of 16 output channels [first_block, last_block) are computed,
  int last_block = -1;  // so threads can share out the channels (-1: to the end)
};

namespace detail {

inline constexpr int int8_max_blocks = 4;

// Rows of a tile of `blocks` blocks of 16 outputs: the most whose main loop GCC 12 compiles
// without spilling (checked in the disassembly: 32 vector registers hold the accumulators, the
// weights and the requantization's constants, 16 general ones the rows' addresses). With a
// residual, the second term's constants take registers too.
constexpr int int8_tile_rows(int blocks, bool residual) {
  constexpr std::array<int, 5> rows{0, 12, 12, 9, 7}, with_residual{0, 12, 12, 4, 4};
  return (residual ? with_residual : rows)[static_cast<std::size_t>(blocks)];
}

template <class Arch>
struct int8_kernels {
  using function = void (*)(const int8_tile_args&);
  static constexpr bool avx512 =
#if defined(__AVX512BW__)
      std::is_base_of_v<xsimd::avx512f, Arch>;
#else
      false;
#endif
  template <int Rows, int Blocks, bool Residual>
  static constexpr function tile() {
#if defined(__AVX512BW__)
    if constexpr (avx512) return &int8_tile_avx512<Rows, Blocks, Residual>;
#endif
    return &int8_tile_portable<Rows, Blocks>;
  }
  template <int Blocks, bool Residual, int... R>
  static constexpr std::array<function, 12> row_table(std::integer_sequence<int, R...>) {
    std::array<function, 12> t{};
    ((t[static_cast<std::size_t>(R)] =
          R < int8_tile_rows(Blocks, Residual) ? tile<R + 1, Blocks, Residual>() : nullptr),
     ...);
    return t;
  }
  template <bool Residual>
  static constexpr std::array<std::array<function, 12>, int8_max_blocks> make_table() {
    return {row_table<1, Residual>(std::make_integer_sequence<int, 12>{}),
            row_table<2, Residual>(std::make_integer_sequence<int, 12>{}),
            row_table<3, Residual>(std::make_integer_sequence<int, 12>{}),
            row_table<4, Residual>(std::make_integer_sequence<int, 12>{})};
  }
  /// table[residual][blocks - 1][rows - 1]
  static constexpr std::array<std::array<std::array<function, 12>, int8_max_blocks>, 2> table{
      make_table<false>(), make_table<true>()};
};

}  // namespace detail

/// Runs the product, block group by block group, tile by tile.
template <class Arch>
void int8_gemm(const int8_gemm_args& g) {
  using kernels = detail::int8_kernels<Arch>;
  const int8_gemm_layout& l = g.layout;
  const int blocks = l.blocks();
  const int end = g.last_block < 0 ? blocks : std::min(blocks, g.last_block);
  const std::ptrdiff_t block_stride = static_cast<std::ptrdiff_t>(l.steps()) * 64;
  const auto* weights = reinterpret_cast<const std::int8_t*>(g.packed);
  const auto* bias = reinterpret_cast<const std::int32_t*>(g.packed + l.bias_offset());
  const auto* multiplier = reinterpret_cast<const float*>(g.packed + l.multiplier_offset());
  // A shuffled store (c_step > 1) goes through a tile of its own first: the tiles store their
  // channels one after another, without a branch in their epilogue.
  alignas(64) std::uint8_t shuffled[12 * 16 * detail::int8_max_blocks];
  const bool strided = g.c_step != 1;
  // Rows in chunks whose A rows stay in L2 while every block group passes over them.
  const int chunk = std::max(12, 262144 / std::max(l.k, 1) / 12 * 12);
  for (int r0 = 0; r0 < g.rows; r0 += chunk) {
    const int r1 = std::min(g.rows, r0 + chunk);
    for (int first = g.first_block; first < end; first += detail::int8_max_blocks) {
      const int here = std::min(detail::int8_max_blocks, end - first);
      const bool last = first + here == blocks;
      const int lanes = last ? l.n - first * 16 : here * 16;  // channels this group stores
      detail::int8_tile_args t{.a = nullptr,
                               .a_stride = g.a_stride,
                               .b = weights + first * block_stride,
                               .block_stride = block_stride,
                               .bias = bias + first * 16,
                               .multiplier = multiplier + first * 16,
                               .steps = l.steps(),
                               .c = strided ? shuffled : nullptr,
                               .c_stride = strided ? 16 * detail::int8_max_blocks : g.c_stride,
                               .last_lanes = lanes - (here - 1) * 16,
                               .residual = nullptr,
                               .residual_stride = g.residual_stride,
                               .residual_zero = g.residual_zero,
                               .residual_multiplier = g.residual_multiplier,
                               .out_zero = g.out_zero,
                               .clamp = g.clamp};
      const bool residual = g.residual != nullptr;
      const auto& tiles = kernels::table[residual ? 1 : 0][static_cast<std::size_t>(here - 1)];
      const int tile_rows = detail::int8_tile_rows(here, residual);
      for (int r = r0; r < r1; r += tile_rows) {
        const int m = std::min(tile_rows, r1 - r);
        t.a = g.a + r * g.a_stride;
        if (!strided) t.c = g.c + r * g.c_stride + first * 16;
        t.residual =
            g.residual == nullptr ? nullptr : g.residual + r * g.residual_stride + first * 16;
        tiles[static_cast<std::size_t>(m - 1)](t);
        if (strided) {
          for (int i = 0; i < m; ++i) {
            std::uint8_t* c = g.c + (r + i) * g.c_stride + first * 16 * g.c_step;
            for (int j = 0; j < lanes; ++j) c[j * g.c_step] = shuffled[i * t.c_stride + j];
          }
        }
      }
    }
  }
}

}  // namespace lmnet::simd

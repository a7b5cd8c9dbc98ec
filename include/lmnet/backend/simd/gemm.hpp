// SPDX-License-Identifier: Apache-2.0
// The matrix product every pointwise, standard and dense layer runs on: C = act(A B + bias + R),
// A read in place (pixels of an NHWC tensor, or im2col rows), B packed at load time (gemm/layout),
// the bias, residual and activation applied while the tile is still in registers (gemm/tile).
// The driver here cuts a product into register blocks and tiles.
#pragma once

#include <lmnet/backend/simd/gemm/layout.hpp>
#include <lmnet/backend/simd/gemm/tile.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/config.hpp>
#include <lmnet/core/activation.hpp>

// The tiles of instruction sets that have their own.
#if XSIMD_WITH_AVX512F
#include <lmnet/backend/simd/gemm/phased_tile_avx512.hpp>
#endif

#include <algorithm>
#include <array>
#include <cassert>
#include <cstddef>

namespace lmnet::simd {

/// One product: `rows` rows of A (row r at a + r * a_stride, k floats), weights packed by
/// `layout`, output row r at c + r * c_stride. The last register of each output row writes
/// `n_store - 16 * (vectors - 1)` lanes: n_store = n writes exactly the n channels, n_store =
/// layout.padded_n() writes whole registers (for scratch tensors with room for them).
struct gemm_args {
  const float* a = nullptr;
  std::ptrdiff_t a_stride = 0;
  int rows = 0;
  const float* packed = nullptr;
  gemm_layout layout{};
  float* c = nullptr;
  std::ptrdiff_t c_stride = 0;
  int n_store = 0;
  const float* residual = nullptr;  // added before the activation, or nullptr
  std::ptrdiff_t residual_stride = 0;
  activation act = activation::none;
  int first_vector = 0;  // output registers [first_vector, last_vector) are computed (whole
  int last_vector = -1;  // blocks; -1: to the end), so threads can share out the channels
  int c_step = 1;        // output channel j of a row goes to c[j * c_step] (a shuffled store)
  int segments = 1;      // A row r is `segments` runs of k / segments floats, run j at
  std::ptrdiff_t segment_stride = 0;  // a + r * a_stride + j * segment_stride (a convolution
                                      // reading its windows in place: one run per kernel row)
  // Inputs [k_begin, k_begin + k_count) only (phases = 1, one segment; -1: all k), A rows holding
  // just those: threads sharing out a product's inputs, each summing its part.
  int k_begin = 0;
  int k_count = -1;
  bool bias = true;  // false: the sums start from zero (a part another part's bias completes)
};

namespace detail {

// A phases = 4 product: whole tiles, then the rows left over one at a time.
template <class Arch>
void phased_gemm(const gemm_args& g) {
  if constexpr (phased_kernels<Arch>::available) {
    const gemm_layout& l = g.layout;
    const int steps = l.step_vectors(), rows = phased_tile_rows(steps);
    const auto& tile = phased_kernels<Arch>::table[static_cast<std::size_t>(steps - 1)];
    gemm_tile_args t{.a = nullptr,
                     .a_stride = g.a_stride,
                     .b = g.packed,
                     .bias = g.packed + l.weight_floats(),
                     .k = l.k,
                     .c = nullptr,
                     .c_stride = g.c_stride,
                     .last_lanes = g.n_store - (l.vectors() - 1) * 16,
                     .residual = nullptr,
                     .residual_stride = g.residual_stride,
                     .act = g.act,
                     .c_step = g.c_step,
                     .segments = 1,
                     .segment_stride = 0};
    for (int r = 0; r < g.rows;) {
      const int m = g.rows - r >= rows ? rows : 1;
      t.a = g.a + r * g.a_stride;
      t.c = g.c + r * g.c_stride;
      t.residual = g.residual == nullptr ? nullptr : g.residual + r * g.residual_stride;
      tile[m == rows ? 0 : 1](t);
      r += m;
    }
  } else {
    (void)g;
    assert(false && "phases = 4 layouts are made for 16-lane (AVX-512) registers only");
  }
}

// What a tile adds instead of the bias when it has none: zeros for its widest block.
alignas(64) inline constexpr std::array<float, 64> zero_bias{};

// Calls f(t, here, first_row, end_row) for the register blocks of output channels
// [first_vector, last_vector) of g, over rows [first_row, end_row): t is the tile of the block's
// first row (a, c and residual move by whole rows from there), `here` its registers per row.
// Rows are taken in chunks whose A rows stay in L2 while every weight block passes over them,
// each block's weights staying in L1 across the chunk's tiles.
template <class Arch, class F>
LMNET_FORCEINLINE void for_each_block(const gemm_args& g, F&& f) {
  constexpr int W = vector<Arch>::width;
  constexpr int max_rows = gemm_kernels<Arch>::max_rows;
  const gemm_layout& l = g.layout;
  const int vectors = l.vectors();
  const int k = g.k_count < 0 ? l.k : g.k_count;
  const int chunk = std::max(max_rows, (65536 / std::max(k, 1)) / max_rows * max_rows);
  static_assert(zero_bias.size() >= std::size_t{gemm_kernels<Arch>::max_vectors} * W);
  const float* bias = g.packed + l.weight_floats();
  const int vector_end = g.last_vector < 0 ? vectors : std::min(vectors, g.last_vector);
  for (int r0 = 0; r0 < g.rows; r0 += chunk) {
    const int r1 = std::min(g.rows, r0 + chunk);
    for (int first = g.first_vector; first < vector_end; first += l.block_vectors) {
      const int here = std::min(l.block_vectors, vectors - first);
      const int c0 = first * W;
      const bool last_block = first + here == vectors;
      const gemm_tile_args t{.a = g.a,
                             .a_stride = g.a_stride,
                             .b = g.packed + static_cast<std::size_t>(l.k) * c0 +
                                  static_cast<std::size_t>(g.k_begin) * here * W,
                             .bias = g.bias ? bias + c0 : zero_bias.data(),
                             .k = k,
                             .c = g.c + c0 * g.c_step,
                             .c_stride = g.c_stride,
                             .last_lanes = last_block ? g.n_store - (c0 + (here - 1) * W) : W,
                             .residual = g.residual == nullptr ? nullptr : g.residual + c0,
                             .residual_stride = g.residual_stride,
                             .act = g.act,
                             .c_step = g.c_step,
                             .segments = std::max(g.segments, 1),
                             .segment_stride = g.segment_stride};
      f(t, here, r0, r1);
    }
  }
}

// At most this many inputs for the one-row product over nonzero inputs: their list takes 16 KiB
// of the calling thread's stack.
inline constexpr int sparse_row_max_inputs = 4096;

// A product of one row at least a quarter of whose inputs are zero, as ReLU outputs often are
// (a classifier after global pooling, a projection at 1x1 size): each block then reads the
// weights of the nonzero inputs only. Those layers read every weight once per inference, so
// time goes with the bytes read. Returns false, doing nothing, for other products.
template <class Arch>
bool sparse_row_gemm(const gemm_args& g) {
  const int k = g.k_count < 0 ? g.layout.k : g.k_count;
  if (g.rows != 1 || g.segments > 1 || k > sparse_row_max_inputs) return false;
  int inputs[sparse_row_max_inputs];
  int count = 0;
  for (int i = 0; i < k; ++i) {  // without a branch: zeros come at random
    inputs[count] = i;
    count += g.a[i] != 0.0f ? 1 : 0;
  }
  if (count > k - k / 4) return false;
  for_each_block<Arch>(g, [&](const gemm_tile_args& t, int here, int, int) {
    gemm_kernels<Arch>::sparse_table[static_cast<std::size_t>(here - 1)](t, inputs, count);
  });
  return true;
}

}  // namespace detail

/// Runs the product: one row with many zeros over its nonzero inputs only (sparse_row_gemm),
/// anything else by register tiles.
template <class Arch>
void gemm(const gemm_args& g) {
  if (g.layout.phases != 1) {
    assert(g.segments <= 1 && g.first_vector == 0 && g.last_vector < 0 && g.k_count < 0 && g.bias);
    detail::phased_gemm<Arch>(g);
    return;
  }
  assert(g.k_count < 0 || (g.segments <= 1 && g.k_begin + g.k_count <= g.layout.k));
  if (detail::sparse_row_gemm<Arch>(g)) return;
  using kernels = detail::gemm_kernels<Arch>;
  detail::for_each_block<Arch>(
      g, [&](const detail::gemm_tile_args& block, int here, int r0, int r1) {
        detail::gemm_tile_args t = block;
        const auto& tiles = kernels::table[static_cast<std::size_t>(here - 1)];
        const int tile = gemm_tile_rows(kernels::registers, here);
        for (int r = r0; r < r1; r += tile) {
          const int m = std::min(tile, r1 - r);
          t.a = block.a + r * g.a_stride;
          t.c = block.c + r * g.c_stride;
          t.residual = block.residual == nullptr ? nullptr : block.residual + r * g.residual_stride;
          tiles[static_cast<std::size_t>(m - 1)](t);
        }
      });
}

}  // namespace lmnet::simd

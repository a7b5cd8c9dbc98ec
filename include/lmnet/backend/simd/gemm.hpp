// SPDX-License-Identifier: Apache-2.0
// The matrix product every pointwise, standard and dense layer runs on: C = act(A B + bias + R),
// A read in place (pixels of an NHWC tensor, or im2col rows), B packed at load time, the bias,
// residual and activation applied while the tile is still in registers.
#pragma once

#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/config.hpp>
#include <lmnet/core/activation.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

namespace lmnet::simd {

/// How the weights of one product are packed: output channels go in blocks of `block_vectors`
/// registers; block b holds, for each of the k inputs, its block_vectors * width channels
/// (zero-padded past n), at offset k * b * block_vectors * width; the bias (zero-padded) follows
/// the last block. Every block but the last is full.
struct gemm_layout {
  int k = 0;
  int n = 0;
  int width = 1;
  int block_vectors = 1;

  constexpr int vectors() const { return (n + width - 1) / width; }
  constexpr int padded_n() const { return vectors() * width; }
  constexpr std::size_t weight_floats() const {
    return static_cast<std::size_t>(k) * static_cast<std::size_t>(padded_n());
  }
  /// Weights and bias.
  constexpr std::size_t floats() const {
    return weight_floats() + static_cast<std::size_t>(padded_n());
  }
  /// Where input i's weight for output channel o lives.
  constexpr std::size_t index(int i, int o) const {
    const int block = o / (block_vectors * width);
    const int first = block * block_vectors * width;
    const int vectors_here = std::min(block_vectors, vectors() - block * block_vectors);
    return static_cast<std::size_t>(k) * static_cast<std::size_t>(first) +
           static_cast<std::size_t>(i) * static_cast<std::size_t>(vectors_here * width) +
           static_cast<std::size_t>(o - first);
  }
};

/// Rows of a register tile holding `vectors` registers per row, given the register file: what
/// keeps the FMA units busy while leaving room for the weight registers.
constexpr int gemm_tile_rows(int registers, int vectors) {
  if (registers >= 32) {
    constexpr std::array<int, 5> rows{0, 12, 12, 8, 6};
    return rows[static_cast<std::size_t>(vectors)];
  }
  constexpr std::array<int, 4> rows{0, 8, 6, 4};
  return rows[static_cast<std::size_t>(vectors)];
}

constexpr int gemm_max_block_vectors(int registers) {
  return registers >= 32 ? 4 : 3;
}

/// Picks the block width for n outputs: the one that wastes the fewest cycles per input, counting
/// FMAs (two per cycle) and loads (broadcasts plus weight registers, two per cycle).
constexpr int gemm_block_vectors(int n, int width, int registers) {
  const int vectors = (n + width - 1) / width;
  int best = 1;
  double best_cost = 1e30;
  for (int nv = 1; nv <= gemm_max_block_vectors(registers); ++nv) {
    double cost = 0;
    for (int first = 0; first < vectors; first += nv) {
      const int here = std::min(nv, vectors - first);
      const int rows = gemm_tile_rows(registers, here);
      const double fma = here / 2.0;
      const double loads = (rows + here) / (2.0 * rows);
      cost += fma > loads ? fma : loads;
    }
    if (cost < best_cost - 1e-9) {
      best_cost = cost;
      best = nv;
    }
  }
  return best;
}

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
};

namespace detail {

struct gemm_tile_args {
  const float* a;
  std::ptrdiff_t a_stride;
  const float* b;
  const float* bias;
  int k;
  float* c;
  std::ptrdiff_t c_stride;
  int last_lanes;  // lanes of the tile's last register that are written
  const float* residual;
  std::ptrdiff_t residual_stride;
  activation act;
  int c_step;
  int segments;
  std::ptrdiff_t segment_stride;
};

template <class Arch, int Rows, int Vectors>
void gemm_tile(const gemm_tile_args& t) {
  using V = vector<Arch>;
  using B = typename V::batch;
  constexpr int W = V::width;
  B acc[Rows][Vectors];
#pragma GCC unroll 16
  for (int v = 0; v < Vectors; ++v) {
    const B b = V::load_aligned(t.bias + v * W);
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) acc[r][v] = b;
  }
  const float* a[Rows];
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) a[r] = t.a + r * t.a_stride;
  const float* b = t.b;
  const int run = t.k / t.segments;
  for (int segment = 0; segment < t.segments; ++segment) {
    for (int i = 0; i < run; ++i, b += Vectors * W) {
      B w[Vectors];
#pragma GCC unroll 16
      for (int v = 0; v < Vectors; ++v) w[v] = V::load_aligned(b + v * W);
#pragma GCC unroll 16
      for (int r = 0; r < Rows; ++r) {
        const B x = V::broadcast(a[r][i]);
#pragma GCC unroll 16
        for (int v = 0; v < Vectors; ++v) acc[r][v] = V::fma(x, w[v], acc[r][v]);
      }
    }
#pragma GCC unroll 16
    for (int r = 0; r < Rows; ++r) a[r] += t.segment_stride;
  }
  const bool partial = t.last_lanes < W;
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
    float* c = t.c + r * t.c_stride;
    const float* res = t.residual == nullptr ? nullptr : t.residual + r * t.residual_stride;
#pragma GCC unroll 16
    for (int v = 0; v < Vectors; ++v) {
      B x = acc[r][v];
      const bool last = v == Vectors - 1 && partial;
      if (res != nullptr)
        x += last ? V::load_first(res + v * W, t.last_lanes) : V::load(res + v * W);
      x = V::activate(x, t.act);
      if (t.c_step != 1) {
        V::store_strided(c + v * W * t.c_step, x, t.c_step, last ? t.last_lanes : W);
      } else if (last) {
        V::store_first(c + v * W, x, t.last_lanes);
      } else {
        V::store(c + v * W, x);
      }
    }
  }
}

template <class Arch>
struct gemm_kernels {
  using function = void (*)(const gemm_tile_args&);
  static constexpr int registers = vector<Arch>::registers;
  static constexpr int max_vectors = gemm_max_block_vectors(registers);
  static constexpr int max_rows = gemm_tile_rows(registers, 1);

  template <int Vectors, int... R>
  static constexpr std::array<function, max_rows> row_table(std::integer_sequence<int, R...>) {
    std::array<function, max_rows> t{};
    ((t[static_cast<std::size_t>(R)] =
          R < gemm_tile_rows(registers, Vectors) ? &gemm_tile<Arch, R + 1, Vectors> : nullptr),
     ...);
    return t;
  }
  template <int... NV>
  static constexpr auto make_table(std::integer_sequence<int, NV...>) {
    return std::array<std::array<function, max_rows>, sizeof...(NV)>{
        row_table<NV + 1>(std::make_integer_sequence<int, max_rows>{})...};
  }
  /// table[vectors - 1][rows - 1]
  static constexpr auto table = make_table(std::make_integer_sequence<int, max_vectors>{});
};

}  // namespace detail

/// Runs the product. Rows are taken in chunks whose A rows stay in L2 while every weight block
/// passes over them, each block's weights staying in L1 across the chunk's tiles.
template <class Arch>
void gemm(const gemm_args& g) {
  using kernels = detail::gemm_kernels<Arch>;
  constexpr int W = vector<Arch>::width;
  const gemm_layout& l = g.layout;
  const int vectors = l.vectors();
  const int max_rows = kernels::max_rows;
  const int chunk = std::max(max_rows, (65536 / std::max(l.k, 1)) / max_rows * max_rows);
  const float* bias = g.packed + l.weight_floats();
  const int vector_end = g.last_vector < 0 ? vectors : std::min(vectors, g.last_vector);
  for (int r0 = 0; r0 < g.rows; r0 += chunk) {
    const int r1 = std::min(g.rows, r0 + chunk);
    for (int first = g.first_vector; first < vector_end; first += l.block_vectors) {
      const int here = std::min(l.block_vectors, vectors - first);
      const int c0 = first * W;
      const bool last_block = first + here == vectors;
      const int last_lanes = last_block ? g.n_store - (c0 + (here - 1) * W) : W;
      const int tile = gemm_tile_rows(kernels::registers, here);
      detail::gemm_tile_args t{nullptr,
                               g.a_stride,
                               g.packed + static_cast<std::size_t>(l.k) * c0,
                               bias + c0,
                               l.k,
                               nullptr,
                               g.c_stride,
                               last_lanes,
                               nullptr,
                               g.residual_stride,
                               g.act,
                               g.c_step,
                               std::max(g.segments, 1),
                               g.segment_stride};
      for (int r = r0; r < r1; r += tile) {
        const int m = std::min(tile, r1 - r);
        t.a = g.a + r * g.a_stride;
        t.c = g.c + r * g.c_stride + c0 * g.c_step;
        t.residual = g.residual == nullptr ? nullptr : g.residual + r * g.residual_stride + c0;
        kernels::table[static_cast<std::size_t>(here - 1)][static_cast<std::size_t>(m - 1)](t);
      }
    }
  }
}

/// Packs weights given as w(i, o) (input i, output o) and a bias into `layout`'s order.
template <class WeightAt>
void pack_gemm(const gemm_layout& layout, WeightAt weight, const float* bias,
               std::span<float> out) {
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(layout.floats()), 0.0f);
  for (int i = 0; i < layout.k; ++i) {
    for (int o = 0; o < layout.n; ++o) out[layout.index(i, o)] = weight(i, o);
  }
  for (int o = 0; o < layout.n; ++o)
    out[layout.weight_floats() + static_cast<std::size_t>(o)] = bias[o];
}

}  // namespace lmnet::simd

// SPDX-License-Identifier: Apache-2.0
// The portable register tiles of the product: a block of rows times a block of output registers
// accumulated over the inputs, and the epilogue that adds the residual, applies the activation
// and stores, while the tile is still in registers.
#pragma once

#include <lmnet/backend/simd/gemm/layout.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/config.hpp>
#include <lmnet/core/activation.hpp>

#include <array>
#include <cstddef>
#include <utility>

namespace lmnet::simd::detail {

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

// Output register v of tile row r, bias added: adds the residual, applies the activation and
// stores it (the tile's last register only its last_lanes lanes).
template <class Arch>
LMNET_FORCEINLINE void store_register(const gemm_tile_args& t, int r, int v, bool last_register,
                                      typename vector<Arch>::batch x) {
  using V = vector<Arch>;
  constexpr int W = V::width;
  const bool last = last_register && t.last_lanes < W;
  float* c = t.c + r * t.c_stride;
  if (t.residual != nullptr) {
    const float* res = t.residual + r * t.residual_stride + v * W;
    x += last ? V::load_first(res, t.last_lanes) : V::load(res);
  }
  x = V::activate(x, t.act);
  if (t.c_step != 1) {
    V::store_strided(c + v * W * t.c_step, x, t.c_step, last ? t.last_lanes : W);
  } else if (last) {
    V::store_first(c + v * W, x, t.last_lanes);
  } else {
    V::store(c + v * W, x);
  }
}

template <class Arch, int Rows, int Vectors>
void gemm_tile(const gemm_tile_args& args) {
  // A copy the compiler can keep in registers: vector stores (may_alias types) could change
  // `args`, so every field would be read again after each store.
  const gemm_tile_args t = args;
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
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r) {
#pragma GCC unroll 16
    for (int v = 0; v < Vectors; ++v) store_register<Arch>(t, r, v, v == Vectors - 1, acc[r][v]);
  }
}

// One row of a product over the inputs listed in `inputs` only (increasing): the terms it leaves
// out are the zeros of the row, so its sums are gemm_tile's, in the same order.
template <class Arch, int Vectors>
void sparse_row_tile(const gemm_tile_args& args, const int* inputs, int count) {
  const gemm_tile_args t = args;  // see gemm_tile
  using V = vector<Arch>;
  using B = typename V::batch;
  constexpr int W = V::width;
  B acc[Vectors];
#pragma GCC unroll 16
  for (int v = 0; v < Vectors; ++v) acc[v] = V::load_aligned(t.bias + v * W);
  for (int j = 0; j < count; ++j) {
    const int i = inputs[j];
    const B x = V::broadcast(t.a[i]);
    const float* b = t.b + static_cast<std::ptrdiff_t>(i) * (Vectors * W);
#pragma GCC unroll 16
    for (int v = 0; v < Vectors; ++v) acc[v] = V::fma(x, V::load_aligned(b + v * W), acc[v]);
  }
#pragma GCC unroll 16
  for (int v = 0; v < Vectors; ++v) store_register<Arch>(t, 0, v, v == Vectors - 1, acc[v]);
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

  using sparse_function = void (*)(const gemm_tile_args&, const int*, int);
  /// sparse_table[vectors - 1]
  static constexpr auto sparse_table = []<int... NV>(std::integer_sequence<int, NV...>) {
    return std::array<sparse_function, sizeof...(NV)>{&sparse_row_tile<Arch, NV + 1>...};
  }
  (std::make_integer_sequence<int, max_vectors>{});
};

/// The tiles of the four-input form (gemm_layout::phases = 4), on the instruction sets that have
/// them (gemm/phased_tile_avx512.hpp): table[step_vectors - 1] holds the tile of
/// phased_tile_rows(step_vectors) rows and the tile of one row.
template <class Arch>
struct phased_kernels {
  static constexpr bool available = false;
};

}  // namespace lmnet::simd::detail

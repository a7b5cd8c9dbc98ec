// SPDX-License-Identifier: Apache-2.0
// The portable register tile of the int8 product, and what every tile is given. Instruction sets
// with tiles of their own (int8/gemm_tile_avx512.hpp) compute exactly the same.
#pragma once

#include <lmnet/backend/simd/int8/gemm_layout.hpp>
#include <lmnet/quantization/params.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lmnet::simd::detail {

struct int8_tile_args {
  const std::uint8_t* a;  // row r at a + r * a_stride, k bytes (and up to 3 more, read, unused)
  std::ptrdiff_t a_stride;
  const std::int8_t* b;         // the tile's first block, at its first step
  std::ptrdiff_t block_stride;  // bytes from one block's weights to the next
  const std::int32_t* bias;     // the first block's
  const float* multiplier;      // the first block's
  int steps;
  std::uint8_t* c;  // the first block's first channel in row 0, the channels one after another
  std::ptrdiff_t c_stride;
  int last_lanes;                // channels of the tile's last block that are stored
  const std::uint8_t* residual;  // nullptr: none
  std::ptrdiff_t residual_stride;
  std::int32_t residual_zero;
  float residual_multiplier;
  std::int32_t out_zero;
  quant_clamp clamp;
};

// Lane l of block v of tile row r: the int32 sum, requantized and stored.
inline void store_int8_lane(const int8_tile_args& t, int r, int v, int l, std::int32_t sum) {
  const int channel = v * 16 + l;
  const float m = t.multiplier[channel];
  const std::uint8_t q =
      t.residual == nullptr
          ? requantize(sum, m, t.out_zero, t.clamp)
          : requantize(sum, m, t.residual[r * t.residual_stride + channel] - t.residual_zero,
                       t.residual_multiplier, t.out_zero, t.clamp);
  t.c[r * t.c_stride + channel] = q;
}

// Rows x Blocks blocks of 16 outputs, in plain C++: the form every instruction set without a
// tile of its own runs.
template <int Rows, int Blocks>
void int8_tile_portable(const int8_tile_args& t) {
  std::int32_t acc[Rows][Blocks][16];
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < Blocks; ++v)
      for (int l = 0; l < 16; ++l) acc[r][v][l] = t.bias[v * 16 + l];
  for (int s = 0; s < t.steps; ++s) {
    for (int v = 0; v < Blocks; ++v) {
      const std::int8_t* w = t.b + v * t.block_stride + s * 64;
      for (int r = 0; r < Rows; ++r) {
        const std::uint8_t* x = t.a + r * t.a_stride + s * 4;
        for (int l = 0; l < 16; ++l) {
          acc[r][v][l] +=
              x[0] * w[4 * l] + x[1] * w[4 * l + 1] + x[2] * w[4 * l + 2] + x[3] * w[4 * l + 3];
        }
      }
    }
  }
  for (int r = 0; r < Rows; ++r)
    for (int v = 0; v < Blocks; ++v) {
      const int lanes = v == Blocks - 1 ? t.last_lanes : 16;
      for (int l = 0; l < lanes; ++l) store_int8_lane(t, r, v, l, acc[r][v][l]);
    }
}

}  // namespace lmnet::simd::detail

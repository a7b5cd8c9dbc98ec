// SPDX-License-Identifier: Apache-2.0
// How a product's weights are packed for the register tiles, and the cost model that picks the
// packing of each layer at compile time.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

namespace lmnet::simd {

/// In the phases = 4 form (below), how many of a row's `step_vectors` weight registers share
/// output register q: four, fewer in the last.
constexpr int phased_registers_sharing(int step_vectors, int q) {
  return std::min(4, step_vectors - 4 * q);
}

/// How the weights of one product are packed, in one of two forms.
///
/// phases = 1: output channels go in blocks of `block_vectors` registers; block b holds, for each
/// of the k inputs, its block_vectors * width channels (zero-padded past n), at offset
/// k * b * block_vectors * width. Every block but the last is full. A tile broadcasts one input
/// of a row and multiplies it by the block's registers.
///
/// phases = 4 (16-lane registers, n <= 24): one block of `step_vectors()` registers per step of
/// four inputs. Lane l of a register holds input 4 * step + l % 4 of one output channel, so a
/// tile broadcasts four consecutive inputs of a row (one 16-byte load) and every lane does useful
/// work even when n is not a multiple of 16; the four partial sums of a channel are added once,
/// at the end. Register v = 4q + j, lane group s (lanes 4s .. 4s + 3) holds output channel
/// 16q + s * m + j, where m = min(4, step_vectors() - 4q) registers share output register q.
///
/// The bias follows the weights: zero-padded to whole registers for phases = 1; for phases = 4 in
/// the weights' own order, at input 0 of each lane group (zeros at inputs 1 to 3), so a tile
/// starts its accumulators from it.
struct gemm_layout {
  int k = 0;
  int n = 0;
  int width = 1;
  int block_vectors = 1;
  int phases = 1;

  /// Output registers per row.
  constexpr int vectors() const { return (n + width - 1) / width; }
  constexpr int padded_n() const { return vectors() * width; }
  /// Weight registers per step of `phases` inputs.
  constexpr int step_vectors() const {
    return phases == 1 ? vectors() : (phases * n + width - 1) / width;
  }
  constexpr int steps() const { return (k + phases - 1) / phases; }
  /// Register blocks of output channels (phases = 1).
  constexpr int blocks() const { return (vectors() + block_vectors - 1) / block_vectors; }
  constexpr std::size_t weight_floats() const {
    return static_cast<std::size_t>(steps()) * static_cast<std::size_t>(step_vectors()) *
           static_cast<std::size_t>(width);
  }
  constexpr std::size_t bias_floats() const {
    return static_cast<std::size_t>(phases == 1 ? vectors() : step_vectors()) *
           static_cast<std::size_t>(width);
  }
  /// Weights and bias.
  constexpr std::size_t floats() const { return weight_floats() + bias_floats(); }
  /// Where output channel o's bias lives.
  constexpr std::size_t bias_index(int o) const {
    return weight_floats() + (phases == 1 ? static_cast<std::size_t>(o) : index(0, o));
  }
  /// Where input i's weight for output channel o lives.
  constexpr std::size_t index(int i, int o) const {
    if (phases != 1) {
      const int q = o / width, in_q = phased_registers_sharing(step_vectors(), q);
      const int v = 4 * q + o % width % in_q, lane = o % width / in_q * 4 + i % phases;
      return (static_cast<std::size_t>(i / phases) * static_cast<std::size_t>(step_vectors()) +
              static_cast<std::size_t>(v)) *
                 static_cast<std::size_t>(width) +
             static_cast<std::size_t>(lane);
    }
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

namespace detail {

// Cycles per input and row of a phases = 1 tile of `vectors` registers: its FMAs (two per cycle)
// or its loads (a broadcast per row plus the weight registers), whichever take longer.
constexpr double broadcast_tile_cost(int registers, int vectors, double loads_per_cycle) {
  const int rows = gemm_tile_rows(registers, vectors);
  const double fma = vectors / 2.0;
  const double loads = (rows + vectors) / (loads_per_cycle * rows);
  return fma > loads ? fma : loads;
}

// Cycles per input and row of a product of `vectors` registers per row in blocks of
// `block_vectors`.
constexpr double broadcast_cost(int registers, int vectors, int block_vectors,
                                double loads_per_cycle) {
  double cost = 0;
  for (int first = 0; first < vectors; first += block_vectors)
    cost +=
        broadcast_tile_cost(registers, std::min(block_vectors, vectors - first), loads_per_cycle);
  return cost;
}

// Loads from distinct cache lines per cycle, measured on a Sapphire Rapids core: 12 broadcasts
// from 12 rows run at 1.3 per cycle, 12 from one line at two or more.
inline constexpr double lines_per_cycle = 1.3;

}  // namespace detail

/// Picks the block width for n outputs: the one that wastes the fewest cycles per input, with
/// loads at two per cycle.
constexpr int gemm_block_vectors(int n, int width, int registers) {
  const int vectors = (n + width - 1) / width;
  int best = 1;
  double best_cost = 1e30;
  for (int nv = 1; nv <= gemm_max_block_vectors(registers); ++nv) {
    const double cost = detail::broadcast_cost(registers, vectors, nv, 2.0);
    if (cost < best_cost - 1e-9) {
      best_cost = cost;
      best = nv;
    }
  }
  return best;
}

inline constexpr int phased_max_outputs = 24;
inline constexpr int phased_max_step_vectors = (4 * phased_max_outputs + 15) / 16;

/// Rows of a phases = 4 tile with `step_vectors` weight registers: as many as the accumulators,
/// the weights and the broadcast leave room for in 32 registers (at most 12), except 8 rather
/// than 9 for three, which divides the usual power-of-two pixel counts and runs as fast.
constexpr int phased_tile_rows(int step_vectors) {
  constexpr std::array<int, phased_max_step_vectors + 1> rows{0, 12, 12, 8, 6, 5, 4};
  return rows[static_cast<std::size_t>(step_vectors)];
}

/// Shuffles and adds that sum the lane groups of `here` (1 to 4) weight registers into one
/// output register (see phased_tile).
constexpr int phased_sum_ops(int here) {
  constexpr std::array<int, 5> ops{0, 5, 6, 8, 9};
  return ops[static_cast<std::size_t>(here)];
}

/// The layout of a product of k inputs to n outputs. `phased` allows the four-input form (for
/// products whose rows are read whole, on 16-lane registers), taken when it costs fewer cycles:
/// it uses every lane, but adds the partial sums of each output register at the end.
constexpr gemm_layout gemm_layout_for(int k, int n, int width, int registers, bool phased) {
  gemm_layout broadcast{k, n, width, gemm_block_vectors(n, width, registers), 1};
  if (!phased || width != 16 || registers < 32 || n > phased_max_outputs || k < 4) return broadcast;
  gemm_layout four{k, n, width, 1, 4};
  const int steps = four.step_vectors(), rows = phased_tile_rows(steps);
  const double fma = steps / 8.0;
  const double loads = (rows + steps) / (4.0 * detail::lines_per_cycle * rows);
  // Per row, the final sums of each output register (shuffles and adds, two per cycle).
  double sums = 0;
  for (int q = 0; q < four.vectors(); ++q)
    sums += phased_sum_ops(phased_registers_sharing(steps, q)) / 2.0 / k;
  const double phased_cost = (fma > loads ? fma : loads) + sums;
  const double broadcast_cost = detail::broadcast_cost(
      registers, broadcast.vectors(), broadcast.block_vectors, detail::lines_per_cycle);
  return phased_cost < broadcast_cost ? four : broadcast;
}

/// Packs weights given as w(i, o) (input i, output o) and a bias into `layout`'s order.
template <class WeightAt>
void pack_gemm(const gemm_layout& layout, WeightAt weight, const float* bias,
               std::span<float> out) {
  std::fill(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(layout.floats()), 0.0f);
  for (int i = 0; i < layout.k; ++i) {
    for (int o = 0; o < layout.n; ++o) out[layout.index(i, o)] = weight(i, o);
  }
  for (int o = 0; o < layout.n; ++o) out[layout.bias_index(o)] = bias[o];
}

}  // namespace lmnet::simd

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
#include <cassert>
#include <cstddef>
#include <span>
#include <type_traits>
#include <utility>

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

#if XSIMD_WITH_AVX512F
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
#endif

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

// A phases = 4 product: whole tiles, then the rows left over one at a time.
template <class Arch>
void phased_gemm(const gemm_args& g) {
#if XSIMD_WITH_AVX512F
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>) {
    using function = void (*)(const gemm_tile_args&);
    constexpr int kinds = phased_max_step_vectors;
    static constexpr auto tiles = []<int... S>(std::integer_sequence<int, S...>) {
      return std::array<std::array<function, 2>, kinds>{
          {{&phased_tile<Arch, phased_tile_rows(S + 1), S + 1>, &phased_tile<Arch, 1, S + 1>}...}};
    }
    (std::make_integer_sequence<int, kinds>{});
    const gemm_layout& l = g.layout;
    const int steps = l.step_vectors(), rows = phased_tile_rows(steps);
    const auto& tile = tiles[static_cast<std::size_t>(steps - 1)];
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
    return;
  }
#endif
  (void)g;
  assert(false && "phases = 4 layouts are made for 16-lane (AVX-512) registers only");
}

// What a tile adds instead of the bias when it has none: zeros for its widest block.
alignas(64) inline constexpr std::array<float, 64> zero_bias{};

}  // namespace detail

namespace detail {

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

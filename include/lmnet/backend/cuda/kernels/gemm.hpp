// SPDX-License-Identifier: Apache-2.0
// Tiled matrix product with a fused epilogue: 1x1 convolutions (dense and grouped) over every pixel
// of a batch, and dense layers over a batch of images (pointwise_conv2d.hpp and dense.hpp schedule
// it through `schedule_gemm`).
#pragma once

#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/core/activation.hpp>

#include <cstddef>

namespace lmnet::cuda {

/// Block tile (bm rows x bn columns, bk deep) and thread tile (tm x tn) of a `gemm`.
struct gemm_tile {
  int bm = 0, bn = 0, bk = 0, tm = 0, tn = 0;

  constexpr int threads() const { return (bm / tm) * (bn / tn); }
  /// Row stride of the transposed A tile: padded so the transposing stores spread over banks.
  constexpr int a_stride() const { return bm + 4; }
  constexpr std::size_t shared_floats() const {
    return static_cast<std::size_t>(bk) * static_cast<std::size_t>(a_stride() + bn);
  }
  friend constexpr bool operator==(gemm_tile, gemm_tile) = default;
};

/// Many rows and columns (mid-network 1x1 layers at a large batch).
inline constexpr gemm_tile gemm_large{128, 64, 16, 8, 4};
/// Many rows, few columns (projections to 16..32 channels).
inline constexpr gemm_tile gemm_narrow{128, 32, 16, 4, 4};
/// Few rows (late layers at batch 1): more blocks for the same work.
inline constexpr gemm_tile gemm_small{32, 64, 16, 2, 4};

/// C = act(A B + bias + R), for each group g independently:
///   A (m x k): row i at a + i * a_stride, group g's columns from g * k;
///   B (k x n): packed weights, group g's at b + g * k * n, row-major;
///   C, R (m x n): row i at c + i * c_stride (r + i * residual_stride), group g's from g * n.
struct gemm_params {
  const float* a = nullptr;
  int a_stride = 0;
  const float* b = nullptr;
  const float* bias = nullptr;  // groups * n
  float* c = nullptr;
  int c_stride = 0;
  const float* residual = nullptr;  // optional
  int residual_stride = 0;
  int m = 0, n = 0, k = 0, groups = 1;
  activation act = activation::none;
};

/// `VectorA`: rows of A are read as float4 (k % 4 == 0, 16-byte aligned rows).
template <gemm_tile Tile, bool VectorA>
struct gemm {
  using params = gemm_params;
  static constexpr int threads = Tile.threads();
  static_assert(Tile.bm % Tile.tm == 0 && Tile.bn % Tile.tn == 0 && Tile.bk % 4 == 0);
  static_assert(Tile.tn % 4 == 0, "thread tiles read B as float4");

  static launch_shape shape(const params& p) {
    return {{static_cast<unsigned>(ceil_div(p.m, Tile.bm)),
             static_cast<unsigned>(ceil_div(p.n, Tile.bn)), static_cast<unsigned>(p.groups)},
            threads,
            Tile.shared_floats() * sizeof(float)};
  }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    struct accumulators {
      float v[Tile.tm][Tile.tn];
    };
    typename Ctx::template per_thread<accumulators> acc{};
    constexpr int lda = Tile.a_stride();
    float* as = ctx.shared();        // A tile, transposed: [bk][lda]
    float* bs = as + Tile.bk * lda;  // B tile: [bk][bn]
    constexpr int columns = Tile.bn / Tile.tn;
    const int m0 = ctx.block_x() * Tile.bm, n0 = ctx.block_y() * Tile.bn, g = ctx.block_z();
    const float* a = p.a + static_cast<std::size_t>(g) * static_cast<std::size_t>(p.k);
    const float* b = p.b + static_cast<std::size_t>(g) * static_cast<std::size_t>(p.k) *
                               static_cast<std::size_t>(p.n);

    ctx.each([&](int t) {
      for (int i = 0; i < Tile.tm; ++i)
        for (int j = 0; j < Tile.tn; ++j) acc(t).v[i][j] = 0.0f;
    });
    for (int k0 = 0; k0 < p.k; k0 += Tile.bk) {
      ctx.phase([&](int t) {
        if constexpr (VectorA) {
          constexpr int quads = Tile.bk / 4;
          for (int i = t; i < Tile.bm * quads; i += threads) {
            const int row = i / quads, kk = (i % quads) * 4;
            const int m = m0 + row, k = k0 + kk;
            const vec4 v = (m < p.m && k < p.k)
                               ? load4(a + static_cast<std::size_t>(m) * p.a_stride + k)
                               : vec4{};
            as[(kk + 0) * lda + row] = v.x;
            as[(kk + 1) * lda + row] = v.y;
            as[(kk + 2) * lda + row] = v.z;
            as[(kk + 3) * lda + row] = v.w;
          }
        } else {
          for (int i = t; i < Tile.bm * Tile.bk; i += threads) {
            const int row = i / Tile.bk, kk = i % Tile.bk;
            const int m = m0 + row, k = k0 + kk;
            as[kk * lda + row] = (m < p.m && k < p.k)
                                     ? load(a + static_cast<std::size_t>(m) * p.a_stride + k)
                                     : 0.0f;
          }
        }
        for (int i = t; i < Tile.bk * Tile.bn; i += threads) {
          const int kk = i / Tile.bn, nn = i % Tile.bn;
          const int k = k0 + kk, n = n0 + nn;
          bs[i] = (k < p.k && n < p.n) ? load(b + static_cast<std::size_t>(k) * p.n + n) : 0.0f;
        }
      });
      ctx.phase([&](int t) {
        const int row = (t / columns) * Tile.tm, col = (t % columns) * Tile.tn;
        auto& c = acc(t).v;
        for (int kk = 0; kk < Tile.bk; ++kk) {
          float av[Tile.tm], bv[Tile.tn];
          if constexpr (Tile.tm % 4 == 0) {
            for (int i = 0; i < Tile.tm; i += 4) {
              const vec4 v = load4_shared(as + kk * lda + row + i);
              av[i] = v.x, av[i + 1] = v.y, av[i + 2] = v.z, av[i + 3] = v.w;
            }
          } else {
            for (int i = 0; i < Tile.tm; ++i) av[i] = as[kk * lda + row + i];
          }
          for (int j = 0; j < Tile.tn; j += 4) {
            const vec4 v = load4_shared(bs + kk * Tile.bn + col + j);
            bv[j] = v.x, bv[j + 1] = v.y, bv[j + 2] = v.z, bv[j + 3] = v.w;
          }
          for (int i = 0; i < Tile.tm; ++i)
            for (int j = 0; j < Tile.tn; ++j) c[i][j] += av[i] * bv[j];
        }
      });
    }
    ctx.each([&](int t) {
      const int row = m0 + (t / columns) * Tile.tm, col = n0 + (t % columns) * Tile.tn;
      const auto& c = acc(t).v;
      for (int i = 0; i < Tile.tm; ++i) {
        const int m = row + i;
        if (m >= p.m) break;
        for (int j = 0; j < Tile.tn; ++j) {
          const int n = col + j;
          if (n >= p.n) break;
          const int channel = g * p.n + n;
          float v = c[i][j] + load(p.bias + channel);
          if (p.residual != nullptr) {
            v += load(p.residual + static_cast<std::size_t>(m) * p.residual_stride + channel);
          }
          p.c[static_cast<std::size_t>(m) * p.c_stride + channel] = activate(v, p.act);
        }
      }
    });
  }
};

/// The tile for an unfused 1x1 layer or dense layer of m rows and n columns per group.
constexpr gemm_tile choose_gemm_tile(int m, int n, int groups, const device_limits& limits) {
  const long long narrow =
      static_cast<long long>(ceil_div(m, gemm_narrow.bm)) * ceil_div(n, gemm_narrow.bn) * groups;
  const long long large =
      static_cast<long long>(ceil_div(m, gemm_large.bm)) * ceil_div(n, gemm_large.bn) * groups;
  if (n <= gemm_narrow.bn) return narrow >= limits.multiprocessors ? gemm_narrow : gemm_small;
  return large >= limits.multiprocessors ? gemm_large : gemm_small;
}

/// Appends the `gemm` launch computing `p` for node `node` to the schedule `b` builds: the tile
/// `choose_gemm_tile` picks, rows of A read as float4 when `vector_a`.
template <class Builder>
void schedule_gemm(Builder& b, const gemm_params& p, bool vector_a, int node) {
  const gemm_tile tile = choose_gemm_tile(p.m, p.n, p.groups, b.limits());
  auto add = [&]<gemm_tile Tile>() {
    vector_a ? b.add(gemm<Tile, true>{}, p, node, node) : b.add(gemm<Tile, false>{}, p, node, node);
  };
  if (tile == gemm_large) {
    add.template operator()<gemm_large>();
  } else if (tile == gemm_narrow) {
    add.template operator()<gemm_narrow>();
  } else {
    add.template operator()<gemm_small>();
  }
}

}  // namespace lmnet::cuda

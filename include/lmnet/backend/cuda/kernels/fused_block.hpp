// SPDX-License-Identifier: Apache-2.0
// A whole bottleneck in one kernel: 1x1 expansion, branches of stacked depthwise layers over
// channel ranges of the expanded tensor, grouped 1x1 projection, residual add. It covers
// MobileNetV2's inverted residual (one branch of depth 1) and the L-Mobilenet bottleneck (two
// branches of depths 1 and 2, one projection group per branch).
//
// A block owns a tile of output pixels of one image and one projection group. It loads the input
// pixels the tile depends on (the tile grown by every depthwise layer's halo) once, then walks the
// group's expanded channels in chunks: expand the chunk over the halo region, run the branch's
// depthwise layers on it, and accumulate the projection of the chunk in registers. The expanded
// tensor only ever exists in shared memory, one chunk at a time. When the tiles alone cannot fill
// the GPU (batch 1, small images), `splits` blocks share a tile, each taking part of the chunks;
// the last of them to finish adds the partial sums in a fixed order, so results do not depend on
// timing.
#pragma once

#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <cstddef>

namespace lmnet::cuda {

inline constexpr int fused_max_branches = 4;
inline constexpr int fused_max_depth = 4;

/// One depthwise layer of a branch: a square kernel, zero padding.
struct fused_stage {
  const float* weights = nullptr;  // packed (kernel * kernel, branch channels)
  const float* bias = nullptr;
  int kernel = 3, stride = 1, padding = 1;
  int out_height = 0, out_width = 0;  // the layer's output image
  activation act = activation::none;
};

/// Depthwise layers applied to the expanded channels [begin, end).
struct fused_branch {
  int begin = 0, end = 0;
  int depth = 0;
  fused_stage stages[fused_max_depth]{};
};

/// How a fused block is cut into thread blocks.
struct fused_tiling {
  int tile_height = 0, tile_width = 0;  // output pixels per block
  int chunk = 0;                        // expanded channels per step; a multiple of 4
  int splits = 1;                       // blocks sharing a tile and group, each some chunks
  friend constexpr bool operator==(const fused_tiling&, const fused_tiling&) = default;
};

struct fused_block_params {
  tensor_view<const float> in;
  tensor_view<float> out;
  tensor_view<const float> residual;      // data == nullptr: none
  const float* expand_weights = nullptr;  // packed (in channels, expanded); nullptr: no expansion
  const float* expand_bias = nullptr;
  activation expand_act = activation::none;
  int expanded = 0;
  int branch_count = 0;
  fused_branch branches[fused_max_branches]{};
  const float* project_weights = nullptr;  // packed (expanded, out / groups): row e, its group's
  const float* project_bias = nullptr;
  int groups = 1;
  activation project_act = activation::none;
  fused_tiling tiling{};
  float* partial = nullptr;      // splits > 1: (splits, batch * out pixels, out channels)
  unsigned* counters = nullptr;  // splits > 1: one per (tile, group), zero between launches
};

/// The rows (or columns) level `level` of a branch spans when its last layer produces `out`:
/// level `depth` is `out` itself, level d is what layer d reads (level 0: expanded channels).
LMNET_HOST_DEVICE constexpr span1 branch_level(const fused_branch& b, int level, span1 out) {
  span1 s = out;
  for (int d = b.depth - 1; d >= level; --d) {
    s = window_input(s, b.stages[d].kernel, b.stages[d].stride, b.stages[d].padding);
  }
  return s;
}

/// Tiles along each axis, and in total.
LMNET_HOST_DEVICE constexpr int fused_tiles_y(const fused_block_params& p) {
  return ceil_div(p.out.height, p.tiling.tile_height);
}
LMNET_HOST_DEVICE constexpr int fused_tiles_x(const fused_block_params& p) {
  return ceil_div(p.out.width, p.tiling.tile_width);
}
LMNET_HOST_DEVICE constexpr int fused_tiles(const fused_block_params& p) {
  return p.out.batch * fused_tiles_y(p) * fused_tiles_x(p);
}

/// The end of the chunk starting at expanded channel `e0`: `chunk` channels later, or earlier at
/// the end of its group or branch (a chunk never straddles either).
LMNET_HOST_DEVICE constexpr int chunk_end(const fused_block_params& p, int e0, int group_end) {
  int end = min_of(e0 + p.tiling.chunk, group_end);
  for (int b = 0; b < p.branch_count; ++b) {
    const int begin = p.branches[b].begin;
    if (begin > e0 && begin < end) end = begin;
  }
  return end;
}

/// Chunks of projection group `g`.
LMNET_HOST_DEVICE constexpr int chunk_count(const fused_block_params& p, int g) {
  const int per_group = p.expanded / p.groups;
  int count = 0;
  for (int e = g * per_group; e < (g + 1) * per_group; e = chunk_end(p, e, (g + 1) * per_group)) {
    ++count;
  }
  return count;
}

/// The branch that reads expanded channel `e`.
LMNET_HOST_DEVICE constexpr int branch_of(const fused_block_params& p, int e) {
  for (int b = 0; b < p.branch_count; ++b) {
    if (e >= p.branches[b].begin && e < p.branches[b].end) return b;
  }
  return 0;
}

/// The input rows (or columns) a tile spanning `out` depends on, over all branches.
LMNET_HOST_DEVICE constexpr span1 fused_input_span(const fused_block_params& p, span1 out) {
  span1 s = branch_level(p.branches[0], 0, out);
  for (int b = 1; b < p.branch_count; ++b) s = span_union(s, branch_level(p.branches[b], 0, out));
  return s;
}

/// Where each array lives in shared memory (offsets in floats, all multiples of 4).
struct fused_layout {
  int in_stride = 0;  // floats per pixel of the input region (odd: no bank conflicts)
  span1 union_rows{}, union_cols{};  // input region of a tile at the origin
  int chunk = 0;
  int outputs = 0, outputs_stride = 0;  // outputs per group, padded to 4
  int taps = 0, depth = 0;              // largest kernel area and depth over branches
  int level_stride[2]{};                // floats per channel of the two ping-pong buffers
  int tile_pixels = 0, tile_pixels_padded = 0;
  std::size_t in = 0, expand_weights = 0, expand_bias = 0, stage_weights = 0, stage_bias = 0,
              project_weights = 0, buffer[2]{}, flag = 0, total = 0;
};

LMNET_HOST_DEVICE constexpr fused_layout fused_layout_of(const fused_block_params& p) {
  fused_layout l{};
  const fused_tiling& t = p.tiling;
  l.in_stride = p.in.channels | 1;
  l.chunk = t.chunk;
  l.outputs = p.out.channels / p.groups;
  l.outputs_stride = round_up(l.outputs, 4);
  l.tile_pixels = t.tile_height * t.tile_width;
  l.tile_pixels_padded = round_up(l.tile_pixels, 4);
  const span1 rows{0, t.tile_height}, cols{0, t.tile_width};
  l.union_rows = fused_input_span(p, rows);
  l.union_cols = fused_input_span(p, cols);
  for (int b = 0; b < p.branch_count; ++b) {
    const fused_branch& br = p.branches[b];
    l.depth = max_of(l.depth, br.depth);
    for (int d = 0; d <= br.depth; ++d) {
      if (d < br.depth) l.taps = max_of(l.taps, br.stages[d].kernel * br.stages[d].kernel);
      const int size = round_up(branch_level(br, d, rows).size * branch_level(br, d, cols).size, 4);
      l.level_stride[d % 2] = max_of(l.level_stride[d % 2], size);
    }
  }
  const auto floats = [](int n) { return static_cast<std::size_t>(round_up(n, 4)); };
  std::size_t at = 0;
  l.in = at;
  at += floats(l.union_rows.size * l.union_cols.size * l.in_stride);
  l.expand_weights = at;
  if (p.expand_weights != nullptr) at += floats(p.in.channels * l.chunk);
  l.expand_bias = at;
  at += floats(l.chunk);
  l.stage_weights = at;
  at += floats(l.depth * l.taps * l.chunk);
  l.stage_bias = at;
  at += floats(l.depth * l.chunk);
  l.project_weights = at;
  at += floats(l.chunk * l.outputs_stride);
  l.buffer[0] = at;
  at += floats(l.chunk * l.level_stride[0]);
  l.buffer[1] = at;
  at += floats(l.chunk * l.level_stride[1]);
  l.flag = at;
  at += 4;
  l.total = at;
  return l;
}

/// Micro-tiles (4 output pixels x 4 outputs of the group) a block accumulates.
LMNET_HOST_DEVICE constexpr int fused_micro_tiles(const fused_block_params& p) {
  const fused_layout l = fused_layout_of(p);
  return (l.tile_pixels_padded / 4) * (l.outputs_stride / 4);
}

/// `Accumulators`: micro-tiles per thread (registers: 16 floats each).
template <int Accumulators>
struct fused_block {
  using params = fused_block_params;
  static constexpr int threads = 256;
  static constexpr int accumulators = Accumulators;

  static launch_shape shape(const params& p) {
    return {{static_cast<unsigned>(fused_tiles(p)), static_cast<unsigned>(p.tiling.splits),
             static_cast<unsigned>(p.groups)},
            threads,
            fused_layout_of(p).total * sizeof(float)};
  }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    const fused_layout l = fused_layout_of(p);
    float* const shared = ctx.shared();
    float* const in = shared + l.in;
    float* const expand_w = shared + l.expand_weights;
    float* const expand_b = shared + l.expand_bias;
    float* const stage_w = shared + l.stage_weights;
    float* const stage_b = shared + l.stage_bias;
    float* const project_w = shared + l.project_weights;
    float* const buffers[2] = {shared + l.buffer[0], shared + l.buffer[1]};
    const int chunk = l.chunk, in_channels = p.in.channels;

    // This block's tile, group and share of the chunks.
    const int tiles_x = fused_tiles_x(p), tiles_y = fused_tiles_y(p);
    const int tile = ctx.block_x(), split = ctx.block_y(), g = ctx.block_z();
    const int n = tile / (tiles_x * tiles_y);
    const span1 rows{(tile / tiles_x) % tiles_y * p.tiling.tile_height, p.tiling.tile_height};
    const span1 cols{tile % tiles_x * p.tiling.tile_width, p.tiling.tile_width};
    const span1 union_rows = fused_input_span(p, rows), union_cols = fused_input_span(p, cols);
    const int per_group = p.expanded / p.groups;
    const int group_begin = g * per_group, group_end = group_begin + per_group;
    const int chunks = chunk_count(p, g);
    const int per_split = ceil_div(chunks, p.tiling.splits);
    const int first_chunk = split * per_split;
    const int last_chunk = min_of(chunks, first_chunk + per_split);

    struct accumulators_t {
      vec4 v[Accumulators][4];  // [micro-tile][pixel]: four outputs
    };
    typename Ctx::template per_thread<accumulators_t> acc{};
    ctx.each([&](int t) {
      for (int a = 0; a < Accumulators; ++a)
        for (int i = 0; i < 4; ++i) acc(t).v[a][i] = vec4{};
    });

    // The input region, every channel, zero outside the image.
    ctx.phase([&](int t) {
      const int pixels = union_rows.size * union_cols.size;
      for (int i = t; i < pixels * in_channels; i += threads) {
        const int r = i / in_channels, k = i % in_channels;
        const int y = union_rows.begin + r / union_cols.size;
        const int x = union_cols.begin + r % union_cols.size;
        const bool inside = y >= 0 && y < p.in.height && x >= 0 && x < p.in.width;
        in[r * l.in_stride + k] = inside ? load(p.in.data + p.in.pixel(n, y, x) + k) : 0.0f;
      }
    });

    int index = 0;
    for (int e0 = group_begin; e0 < group_end; ++index) {
      const int e1 = chunk_end(p, e0, group_end);
      if (index >= first_chunk && index < last_chunk) {
        const fused_branch& br = p.branches[branch_of(p, e0)];
        const int width = e1 - e0;         // channels of this chunk
        const int offset = e0 - br.begin;  // first channel inside the branch
        const int branch_channels = br.end - br.begin;

        // Weights of the chunk, zero-padded to `chunk` channels.
        ctx.phase([&](int t) {
          if (p.expand_weights != nullptr) {
            for (int i = t; i < in_channels * chunk; i += threads) {
              const int k = i / chunk, j = i % chunk;
              expand_w[i] =
                  j < width
                      ? load(p.expand_weights + static_cast<std::size_t>(k) * p.expanded + e0 + j)
                      : 0.0f;
            }
          }
          for (int j = t; j < chunk; j += threads) {
            expand_b[j] =
                p.expand_bias != nullptr && j < width ? load(p.expand_bias + e0 + j) : 0.0f;
          }
          for (int d = 0; d < br.depth; ++d) {
            const fused_stage& s = br.stages[d];
            const int taps = s.kernel * s.kernel;
            for (int i = t; i < taps * chunk; i += threads) {
              const int tap = i / chunk, j = i % chunk;
              stage_w[(d * l.taps + tap) * chunk + j] =
                  j < width ? load(s.weights + static_cast<std::size_t>(tap) * branch_channels +
                                   offset + j)
                            : 0.0f;
            }
            for (int j = t; j < chunk; j += threads) {
              stage_b[d * chunk + j] = j < width ? load(s.bias + offset + j) : 0.0f;
            }
          }
          for (int i = t; i < chunk * l.outputs_stride; i += threads) {
            const int j = i / l.outputs_stride, o = i % l.outputs_stride;
            project_w[i] =
                j < width && o < l.outputs
                    ? load(p.project_weights + static_cast<std::size_t>(e0 + j) * l.outputs + o)
                    : 0.0f;
          }
        });

        // Level 0: the chunk's expanded channels over the branch's input region.
        const span1 rows0 = branch_level(br, 0, rows), cols0 = branch_level(br, 0, cols);
        const int pixels0 = rows0.size * cols0.size;
        const int dy = rows0.begin - union_rows.begin, dx = cols0.begin - union_cols.begin;
        float* const level0 = buffers[0];
        // Region pixel r of level 0 as an input-region index, or -1 outside the image.
        auto source = [&](int r) {
          if (r >= pixels0) return -1;
          const int ry = r / cols0.size, rx = r % cols0.size;
          const int y = rows0.begin + ry, x = cols0.begin + rx;
          if (y < 0 || y >= p.in.height || x < 0 || x >= p.in.width) return -1;
          return (ry + dy) * union_cols.size + (rx + dx);
        };
        ctx.phase([&](int t) {
          const int padded = round_up(pixels0, 4);
          if (p.expand_weights != nullptr) {
            const int pixel_quads = padded / 4, channel_quads = chunk / 4;
            for (int u = t; u < pixel_quads * channel_quads; u += threads) {
              const int cq = u % channel_quads, pq = u / channel_quads;
              int at[4];
              vec4 sum[4];
              const vec4 b = load4_shared(expand_b + cq * 4);
              for (int i = 0; i < 4; ++i) {
                at[i] = source(pq * 4 + i);
                sum[i] = b;
              }
              const int safe[4] = {
                  at[0] < 0 ? 0 : at[0] * l.in_stride, at[1] < 0 ? 0 : at[1] * l.in_stride,
                  at[2] < 0 ? 0 : at[2] * l.in_stride, at[3] < 0 ? 0 : at[3] * l.in_stride};
              for (int k = 0; k < in_channels; ++k) {
                const vec4 w = load4_shared(expand_w + k * chunk + cq * 4);
                for (int i = 0; i < 4; ++i) sum[i] = fma4(in[safe[i] + k], w, sum[i]);
              }
              for (int i = 0; i < 4; ++i) {
                const vec4 v = apply(sum[i], p.expand_act);
                const bool keep = at[i] >= 0;
                for (int j = 0; j < 4; ++j) {
                  level0[(cq * 4 + j) * l.level_stride[0] + pq * 4 + i] = keep ? v[j] : 0.0f;
                }
              }
            }
          } else {
            for (int i = t; i < chunk * padded; i += threads) {
              const int j = i / padded, r = i % padded;
              const int at = source(r);
              level0[j * l.level_stride[0] + r] =
                  at >= 0 && j < width ? in[at * l.in_stride + e0 + j] : 0.0f;
            }
          }
        });

        // The branch's depthwise layers, level d to d + 1, zero outside each layer's output.
        for (int d = 0; d < br.depth; ++d) {
          const fused_stage& s = br.stages[d];
          const span1 cols_in = branch_level(br, d, cols);
          const span1 rows_out = branch_level(br, d + 1, rows),
                      cols_out = branch_level(br, d + 1, cols);
          const float* const src = buffers[d % 2];
          float* const dst = buffers[(d + 1) % 2];
          const int src_stride = l.level_stride[d % 2], dst_stride = l.level_stride[(d + 1) % 2];
          ctx.phase([&](int t) {
            const int pixels = rows_out.size * cols_out.size, padded = round_up(pixels, 4);
            for (int i = t; i < chunk * padded; i += threads) {
              const int j = i / padded, r = i % padded;
              const int ry = r / cols_out.size, rx = r % cols_out.size;
              const int y = rows_out.begin + ry, x = cols_out.begin + rx;
              float v = 0.0f;
              if (r < pixels && y >= 0 && y < s.out_height && x >= 0 && x < s.out_width) {
                float sum = stage_b[d * chunk + j];
                const float* window =
                    src + j * src_stride + ry * s.stride * cols_in.size + rx * s.stride;
                const float* taps = stage_w + d * l.taps * chunk + j;
                for (int ky = 0; ky < s.kernel; ++ky) {
                  for (int kx = 0; kx < s.kernel; ++kx) {
                    sum += window[ky * cols_in.size + kx] * taps[(ky * s.kernel + kx) * chunk];
                  }
                }
                v = activate(sum, s.act);
              }
              dst[j * dst_stride + r] = v;
            }
          });
        }

        // Projection of the chunk into the accumulators.
        const float* const last = buffers[br.depth % 2];
        const int last_stride = l.level_stride[br.depth % 2];
        ctx.phase([&](int t) {
          const int output_quads = l.outputs_stride / 4;
          const int micro_tiles = (l.tile_pixels_padded / 4) * output_quads;
          for (int a = 0; a < Accumulators; ++a) {
            const int u = t + a * threads;
            if (u >= micro_tiles) break;
            const int oq = u % output_quads, pq = u / output_quads;
            vec4* sum = acc(t).v[a];
            for (int j = 0; j < chunk; ++j) {
              const vec4 x = load4_shared(last + j * last_stride + pq * 4);
              const vec4 w = load4_shared(project_w + j * l.outputs_stride + oq * 4);
              sum[0] = fma4(x.x, w, sum[0]);
              sum[1] = fma4(x.y, w, sum[1]);
              sum[2] = fma4(x.z, w, sum[2]);
              sum[3] = fma4(x.w, w, sum[3]);
            }
          }
        });
      }
      e0 = e1;
    }

    // Epilogue: bias, residual, activation; through the partial sums when the chunks were split.
    const int out_pixels = p.out.height * p.out.width;
    auto for_each_output = [&](int t, auto&& f) {
      const int output_quads = l.outputs_stride / 4;
      const int micro_tiles = (l.tile_pixels_padded / 4) * output_quads;
      for (int a = 0; a < Accumulators; ++a) {
        const int u = t + a * threads;
        if (u >= micro_tiles) break;
        const int oq = u % output_quads, pq = u / output_quads;
        for (int i = 0; i < 4; ++i) {
          const int pixel = pq * 4 + i;
          if (pixel >= l.tile_pixels) break;
          const int y = rows.begin + pixel / p.tiling.tile_width;
          const int x = cols.begin + pixel % p.tiling.tile_width;
          if (y >= p.out.height || x >= p.out.width) continue;
          for (int j = 0; j < 4; ++j) {
            const int o = oq * 4 + j;
            if (o >= l.outputs) break;
            f(y, x, g * l.outputs + o, acc(t).v[a][i][j]);
          }
        }
      }
    };
    auto finish = [&](int y, int x, int channel, float sum) {
      float v = sum + load(p.project_bias + channel);
      if (p.residual.data != nullptr)
        v += load(p.residual.data + p.residual.pixel(n, y, x) + channel);
      p.out(n, y, x, channel) = activate(v, p.project_act);
    };
    if (p.tiling.splits == 1) {
      ctx.each([&](int t) {
        for_each_output(t,
                        [&](int y, int x, int channel, float sum) { finish(y, x, channel, sum); });
      });
      return;
    }
    const std::size_t image_outputs = static_cast<std::size_t>(out_pixels) * p.out.channels;
    const std::size_t split_outputs = image_outputs * p.out.batch;
    auto partial_at = [&](int s, int y, int x, int channel) {
      return p.partial + s * split_outputs + n * image_outputs +
             static_cast<std::size_t>(y * p.out.width + x) * p.out.channels + channel;
    };
    ctx.phase([&](int t) {
      for_each_output(t, [&](int y, int x, int channel, float sum) {
        *partial_at(split, y, x, channel) = sum;
      });
      ctx.fence();
    });
    unsigned* const counter = p.counters + tile * p.groups + g;
    float* const last_block = shared + l.flag;  // 1 in the block that adds the partial sums
    ctx.phase([&](int t) {
      if (t == 0) {
        const unsigned before = ctx.atomic_add(counter, 1u);
        last_block[0] = before == static_cast<unsigned>(p.tiling.splits - 1) ? 1.0f : 0.0f;
      }
    });
    if (last_block[0] == 0.0f) return;  // another block of this tile finishes it
    ctx.each([&](int t) {
      for_each_output(t, [&](int y, int x, int channel, float) {
        float sum = 0.0f;
        for (int s = 0; s < p.tiling.splits; ++s)
          sum += ctx.load_coherent(partial_at(s, y, x, channel));
        finish(y, x, channel, sum);
      });
      if (t == 0) *counter = 0u;
    });
  }
};

}  // namespace lmnet::cuda

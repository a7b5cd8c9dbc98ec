// SPDX-License-Identifier: Apache-2.0
// A whole bottleneck in one kernel: 1x1 expansion, branches of stacked depthwise layers over
// channel ranges of the expanded tensor, grouped 1x1 projection, residual add. It covers
// MobileNetV2's inverted residual (one branch of depth 1) and the L-Mobilenet bottleneck (two
// branches of depths 1 and 2, one projection group per branch).
//
// A block owns a tile of output pixels of one image and one projection group (block_share_of). It
// loads the input pixels the tile depends on (the tile grown by every depthwise layer's halo) once
// (load_input_region), then walks the group's expanded channels in chunks: load the chunk's weights
// (load_chunk_weights), expand the chunk over the halo region (expand_chunk), run the branch's
// depthwise layers on it (run_depthwise_stages), and accumulate the projection of the chunk in
// registers (project_chunk). The expanded tensor only ever exists in shared memory, one chunk at a
// time. When the tiles alone cannot fill the GPU (batch 1, small images), `splits` blocks share a
// tile, each taking part of the chunks; the last of them to finish adds the partial sums in a fixed
// order, so results do not depend on timing (reduce_split_outputs; store_outputs otherwise).
#pragma once

#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/network/bottleneck.hpp>

#include <cstddef>

namespace lmnet::cuda {

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
  fused_stage stages[max_branch_depth]{};
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
  fused_branch branches[max_branches]{};
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
      // Selected, not indexed: a runtime index would keep `l` in local memory on the device.
      if (d % 2 == 0) {
        l.level_stride[0] = max_of(l.level_stride[0], size);
      } else {
        l.level_stride[1] = max_of(l.level_stride[1], size);
      }
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

  // The phases below, in order; each ends in a barrier where threads hand work to each other.
  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    const fused_layout l = fused_layout_of(p);
    const shared_arrays smem = shared_arrays_of(l, ctx.shared());
    const block_share share = block_share_of(p, ctx);
    typename Ctx::template per_thread<output_sums> acc{};
    ctx.each([&](int t) {
      unrolled<Accumulators>(
          [&](auto a) { unrolled<4>([&](auto i) { acc(t).v[a][i] = vec4{}; }); });
    });
    load_input_region(p, l, smem, share, ctx);
    int index = 0;  // chunk `index` of the group is expanded channels [e0, e1)
    for (int e0 = share.group_begin; e0 < share.group_end; ++index) {
      const int e1 = chunk_end(p, e0, share.group_end);
      if (index >= share.first_chunk && index < share.last_chunk) {
        const chunk_range c = chunk_range_of(p, e0, e1);
        load_chunk_weights(p, l, smem, c, ctx);
        expand_chunk(p, l, smem, share, c, ctx);
        run_depthwise_stages(l, smem, share, c, ctx);
        project_chunk(l, smem, c, acc, ctx);
      }
      e0 = e1;
    }
    if (p.tiling.splits == 1) {
      store_outputs(p, l, share, acc, ctx);
    } else {
      reduce_split_outputs(p, l, smem, share, acc, ctx);
    }
  }

 private:
  // A thread's projection sums: [micro-tile][pixel] -> four outputs.
  struct output_sums {
    vec4 v[Accumulators][4];
  };

  // The arrays of shared memory (fused_layout). Level d of a branch lives in buffer d % 2,
  // selected, not indexed: a runtime index into a local array would put it in local memory.
  struct shared_arrays {
    float* in;          // [region pixel][in_stride]: the input region, every channel
    float* expand_w;    // [in channel][chunk]
    float* expand_b;    // [chunk]
    float* stage_w;     // [stage][taps][chunk]
    float* stage_b;     // [stage][chunk]
    float* project_w;   // [chunk][outputs_stride]
    float* buffer0;     // [chunk][level_stride[0]]: levels 0, 2, ...
    float* buffer1;     // [chunk][level_stride[1]]: levels 1, 3, ...
    float* last_block;  // [1]: 1 in the block that adds the split's partial sums
    int stride0, stride1;

    LMNET_DEVICE LMNET_FORCEINLINE float* level(int d) const {
      return d % 2 == 0 ? buffer0 : buffer1;
    }
    LMNET_DEVICE LMNET_FORCEINLINE int level_stride(int d) const {
      return d % 2 == 0 ? stride0 : stride1;
    }
  };

  // Where the layout puts each array in this block's shared memory.
  LMNET_DEVICE static shared_arrays shared_arrays_of(const fused_layout& l, float* shared) {
    return {.in = shared + l.in,
            .expand_w = shared + l.expand_weights,
            .expand_b = shared + l.expand_bias,
            .stage_w = shared + l.stage_weights,
            .stage_b = shared + l.stage_bias,
            .project_w = shared + l.project_weights,
            .buffer0 = shared + l.buffer[0],
            .buffer1 = shared + l.buffer[1],
            .last_block = shared + l.flag,
            .stride0 = l.level_stride[0],
            .stride1 = l.level_stride[1]};
  }

  // What one thread block computes: a tile of output pixels of one image, for one projection
  // group, from its share of the group's chunks. The same in every thread.
  struct block_share {
    int tile, split, group;        // blockIdx (x, y, z)
    int image;                     // n
    span1 rows, cols;              // output pixels of the tile
    span1 union_rows, union_cols;  // input pixels they read, over every branch
    int group_begin, group_end;    // expanded channels of the group
    int first_chunk, last_chunk;   // its chunks [first, last) of the group
  };

  // The tile and chunk range of this block.
  template <class Ctx>
  LMNET_DEVICE static block_share block_share_of(const params& p, Ctx& ctx) {
    block_share share{};
    const int tiles_x = fused_tiles_x(p), tiles_y = fused_tiles_y(p);
    share.tile = ctx.block_x(), share.split = ctx.block_y(), share.group = ctx.block_z();
    // tile: (image, tile row, tile column)
    share.image = share.tile / (tiles_x * tiles_y);
    share.rows = {(share.tile / tiles_x) % tiles_y * p.tiling.tile_height, p.tiling.tile_height};
    share.cols = {share.tile % tiles_x * p.tiling.tile_width, p.tiling.tile_width};
    share.union_rows = fused_input_span(p, share.rows);
    share.union_cols = fused_input_span(p, share.cols);
    const int per_group = p.expanded / p.groups;
    share.group_begin = share.group * per_group;
    share.group_end = share.group_begin + per_group;
    const int chunks = chunk_count(p, share.group);
    const int per_split = ceil_div(chunks, p.tiling.splits);
    share.first_chunk = share.split * per_split;
    share.last_chunk = min_of(chunks, share.first_chunk + per_split);
    return share;
  }

  // Expanded channels [begin, begin + width) of one branch: `offset` channels into it.
  struct chunk_range {
    const fused_branch* branch;
    int begin, width, offset;
  };

  // Chunk [e0, e1) of the expanded channels: its branch and its place in it.
  LMNET_DEVICE static chunk_range chunk_range_of(const params& p, int e0, int e1) {
    const fused_branch& br = p.branches[branch_of(p, e0)];
    return {&br, e0, e1 - e0, e0 - br.begin};
  }

  // The input region, every channel, zero outside the image.
  template <class Ctx>
  LMNET_DEVICE static void load_input_region(const params& p, const fused_layout& l,
                                             const shared_arrays& smem, const block_share& share,
                                             Ctx& ctx) {
    const int in_channels = p.in.channels;
    ctx.phase([&](int t) {
      const int pixels = share.union_rows.size * share.union_cols.size;
      for (int i = t; i < pixels * in_channels; i += threads) {
        const int r = i / in_channels, k = i % in_channels;  // i: (region pixel, in channel)
        const int y = share.union_rows.begin + r / share.union_cols.size;
        const int x = share.union_cols.begin + r % share.union_cols.size;
        const bool inside = y >= 0 && y < p.in.height && x >= 0 && x < p.in.width;
        smem.in[r * l.in_stride + k] =  // [region pixel][in_stride]
            inside ? load(p.in.data + p.in.pixel(share.image, y, x) + k) : 0.0f;
      }
    });
  }

  // The chunk's weights: expansion, depthwise stages, projection, zero-padded to `chunk` channels.
  template <class Ctx>
  LMNET_DEVICE static void load_chunk_weights(const params& p, const fused_layout& l,
                                              const shared_arrays& smem, const chunk_range& c,
                                              Ctx& ctx) {
    const fused_branch& br = *c.branch;
    const int chunk = l.chunk, in_channels = p.in.channels;
    const int branch_channels = br.end - br.begin;
    ctx.phase([&](int t) {
      if (p.expand_weights != nullptr) {
        for (int i = t; i < in_channels * chunk; i += threads) {
          const int k = i / chunk, j = i % chunk;  // i: (in channel, chunk channel)
          smem.expand_w[i] =
              j < c.width
                  ? load(p.expand_weights + static_cast<std::size_t>(k) * p.expanded + c.begin + j)
                  : 0.0f;
        }
      }
      for (int j = t; j < chunk; j += threads) {
        smem.expand_b[j] =
            p.expand_bias != nullptr && j < c.width ? load(p.expand_bias + c.begin + j) : 0.0f;
      }
      for (int d = 0; d < br.depth; ++d) {
        const fused_stage& stage = br.stages[d];
        const int taps = stage.kernel * stage.kernel;
        for (int i = t; i < taps * chunk; i += threads) {
          const int tap = i / chunk, j = i % chunk;       // i: (tap, chunk channel)
          smem.stage_w[(d * l.taps + tap) * chunk + j] =  // [stage][taps][chunk]
              j < c.width ? load(stage.weights + static_cast<std::size_t>(tap) * branch_channels +
                                 c.offset + j)
                          : 0.0f;
        }
        for (int j = t; j < chunk; j += threads) {
          smem.stage_b[d * chunk + j] = j < c.width ? load(stage.bias + c.offset + j) : 0.0f;
        }
      }
      for (int i = t; i < chunk * l.outputs_stride; i += threads) {
        const int j = i / l.outputs_stride, o = i % l.outputs_stride;  // i: (chunk channel, output)
        smem.project_w[i] =
            j < c.width && o < l.outputs
                ? load(p.project_weights + static_cast<std::size_t>(c.begin + j) * l.outputs + o)
                : 0.0f;
      }
    });
  }
  // Level 0 of the chunk: its expanded channels over the branch's input region (zero outside the
  // image: the first depthwise layer's padding).
  template <class Ctx>
  LMNET_DEVICE static void expand_chunk(const params& p, const fused_layout& l,
                                        const shared_arrays& smem, const block_share& share,
                                        const chunk_range& c, Ctx& ctx) {
    const fused_branch& br = *c.branch;
    const int chunk = l.chunk, in_channels = p.in.channels;
    const span1 rows0 = branch_level(br, 0, share.rows), cols0 = branch_level(br, 0, share.cols);
    const int pixels0 = rows0.size * cols0.size;
    const int dy = rows0.begin - share.union_rows.begin, dx = cols0.begin - share.union_cols.begin;
    float* const level0 = smem.buffer0;
    // Pixel r of level 0 as a pixel of the input region, or -1 outside the image.
    auto source = [&](int r) {
      if (r >= pixels0) return -1;
      const int ry = r / cols0.size, rx = r % cols0.size;  // r: (row, column) of level 0
      const int y = rows0.begin + ry, x = cols0.begin + rx;
      if (y < 0 || y >= p.in.height || x < 0 || x >= p.in.width) return -1;
      return (ry + dy) * share.union_cols.size + (rx + dx);
    };
    ctx.phase([&](int t) {
      const int padded = round_up(pixels0, 4);
      if (p.expand_weights != nullptr) {
        const int pixel_quads = padded / 4, channel_quads = chunk / 4;
        for (int u = t; u < pixel_quads * channel_quads; u += threads) {
          // u: (pixel quad, channel quad)
          const int cq = u % channel_quads, pq = u / channel_quads;
          int at[4];
          vec4 sum[4];
          const vec4 b = load4_shared(smem.expand_b + cq * 4);
          for (int i = 0; i < 4; ++i) {
            at[i] = source(pq * 4 + i);
            sum[i] = b;
          }
          const int safe[4] = {
              at[0] < 0 ? 0 : at[0] * l.in_stride, at[1] < 0 ? 0 : at[1] * l.in_stride,
              at[2] < 0 ? 0 : at[2] * l.in_stride, at[3] < 0 ? 0 : at[3] * l.in_stride};
          for (int k = 0; k < in_channels; ++k) {
            const vec4 w = load4_shared(smem.expand_w + k * chunk + cq * 4);  // [in channel][chunk]
            for (int i = 0; i < 4; ++i) sum[i] = fma4(smem.in[safe[i] + k], w, sum[i]);
          }
          for (int i = 0; i < 4; ++i) {
            const vec4 v = apply(sum[i], p.expand_act);
            const bool keep = at[i] >= 0;
            for (int j = 0; j < 4; ++j) {
              level0[(cq * 4 + j) * l.level_stride[0] + pq * 4 + i] =  // (chunk, level pixels)
                  keep ? v[j] : 0.0f;
            }
          }
        }
      } else {
        for (int i = t; i < chunk * padded; i += threads) {
          const int j = i / padded, r = i % padded;  // i: (chunk channel, level pixel)
          const int at = source(r);
          level0[j * l.level_stride[0] + r] =  // (chunk, level pixels)
              at >= 0 && j < c.width ? smem.in[at * l.in_stride + c.begin + j] : 0.0f;
        }
      }
    });
  }

  // The branch's depthwise layers, level d to d + 1, zero outside each layer's output.
  template <class Ctx>
  LMNET_DEVICE static void run_depthwise_stages(const fused_layout& l, const shared_arrays& smem,
                                                const block_share& share, const chunk_range& c,
                                                Ctx& ctx) {
    const fused_branch& br = *c.branch;
    const int chunk = l.chunk;
    for (int d = 0; d < br.depth; ++d) {
      const fused_stage& stage = br.stages[d];
      const span1 cols_in = branch_level(br, d, share.cols);
      const span1 rows_out = branch_level(br, d + 1, share.rows),
                  cols_out = branch_level(br, d + 1, share.cols);
      const level_pass pass{smem.level(d),
                            smem.level_stride(d),
                            branch_level(br, d, share.rows).size,
                            cols_in.size,
                            smem.level(d + 1),
                            smem.level_stride(d + 1),
                            rows_out,
                            cols_out,
                            smem.stage_w + d * l.taps * chunk,  // [stage][taps][chunk]
                            smem.stage_b + d * chunk,           // [stage][chunk]
                            chunk,
                            stage};
      ctx.phase([&](int t) {
        if (stage.kernel == 3 && stage.stride == 1) {
          depthwise3_strips<1>(pass, t);
        } else if (stage.kernel == 3 && stage.stride == 2) {
          depthwise3_strips<2>(pass, t);
        } else {
          depthwise_any(pass, t);
        }
      });
    }
  }

  // The chunk's projection, added to the thread's sums: each micro-tile is 4 pixels of the last
  // level by 4 outputs of the group.
  template <class Ctx>
  LMNET_DEVICE static void project_chunk(const fused_layout& l, const shared_arrays& smem,
                                         const chunk_range& c,
                                         typename Ctx::template per_thread<output_sums>& acc,
                                         Ctx& ctx) {
    const int chunk = l.chunk;
    const float* const last = smem.level(c.branch->depth);  // (chunk, level pixels)
    const int last_stride = smem.level_stride(c.branch->depth);
    ctx.phase([&](int t) {
      const int output_quads = l.outputs_stride / 4;
      const int micro_tiles = (l.tile_pixels_padded / 4) * output_quads;
      output_sums& sums = acc(t);
      unrolled<Accumulators>([&](auto a) {  // constant a: the sums stay in registers
        const int u = t + a * threads;
        if (u < micro_tiles) {
          const int oq = u % output_quads, pq = u / output_quads;  // u: (pixel quad, output quad)
          const float* x_at = last + pq * 4;
          const float* w_at = smem.project_w + oq * 4;  // [chunk][outputs_stride]
          vec4 s0 = sums.v[a][0], s1 = sums.v[a][1], s2 = sums.v[a][2], s3 = sums.v[a][3];
          for (int j = 0; j < chunk; ++j) {
            const vec4 x = load4_shared(x_at + j * last_stride);
            const vec4 w = load4_shared(w_at + j * l.outputs_stride);
            s0 = fma4(x.x, w, s0);
            s1 = fma4(x.y, w, s1);
            s2 = fma4(x.z, w, s2);
            s3 = fma4(x.w, w, s3);
          }
          sums.v[a][0] = s0, sums.v[a][1] = s1, sums.v[a][2] = s2, sums.v[a][3] = s3;
        }
      });
    });
  }

  // Calls f(y, x, channel, sum) for each output thread t accumulated; the loops unroll, so the
  // sums are read at constant indices and stay in registers.
  template <class F>
  LMNET_DEVICE static void for_each_output(const params& p, const fused_layout& l,
                                           const block_share& share, const output_sums& sums, int t,
                                           F&& f) {
    const int output_quads = l.outputs_stride / 4;
    const int micro_tiles = (l.tile_pixels_padded / 4) * output_quads;
    unrolled<Accumulators>([&](auto a) {
      const int u = t + a * threads;
      const int oq = u % output_quads, pq = u / output_quads;  // u: (pixel quad, output quad)
      unrolled<4>([&](auto i) {
        const int pixel = pq * 4 + i;  // (tile row, tile column)
        const int y = share.rows.begin + pixel / p.tiling.tile_width;
        const int x = share.cols.begin + pixel % p.tiling.tile_width;
        const bool inside =
            u < micro_tiles && pixel < l.tile_pixels && y < p.out.height && x < p.out.width;
        const vec4 v = sums.v[a][i];
        const float values[4] = {v.x, v.y, v.z, v.w};
        unrolled<4>([&](auto j) {
          const int o = oq * 4 + j;
          if (inside && o < l.outputs) f(y, x, share.group * l.outputs + o, values[j]);
        });
      });
    });
  }

  // An output's epilogue: bias, residual, activation, store.
  LMNET_DEVICE static void finish(const params& p, const block_share& share, int y, int x,
                                  int channel, float sum) {
    float v = sum + load(p.project_bias + channel);
    if (p.residual.data != nullptr) {
      v += load(p.residual.data + p.residual.pixel(share.image, y, x) + channel);
    }
    p.out(share.image, y, x, channel) = activate(v, p.project_act);
  }

  // The epilogue of a block that computed every chunk: its sums are the outputs.
  template <class Ctx>
  LMNET_DEVICE static void store_outputs(const params& p, const fused_layout& l,
                                         const block_share& share,
                                         typename Ctx::template per_thread<output_sums>& acc,
                                         Ctx& ctx) {
    ctx.each([&](int t) {
      for_each_output(p, l, share, acc(t), t, [&](int y, int x, int channel, float sum) {
        finish(p, share, y, x, channel, sum);
      });
    });
  }

  // The epilogue of a block that computed a split's chunks: its partial sums to memory, then the
  // last block of the tile to arrive adds every split's, in split order.
  template <class Ctx>
  LMNET_DEVICE static void reduce_split_outputs(const params& p, const fused_layout& l,
                                                const shared_arrays& smem, const block_share& share,
                                                typename Ctx::template per_thread<output_sums>& acc,
                                                Ctx& ctx) {
    const std::size_t image_outputs =
        static_cast<std::size_t>(p.out.height * p.out.width) * p.out.channels;
    const std::size_t split_outputs = image_outputs * p.out.batch;
    auto partial_at = [&](int split, int y, int x, int channel) {  // [split][n][y][x][channel]
      return p.partial + split * split_outputs + share.image * image_outputs +
             static_cast<std::size_t>(y * p.out.width + x) * p.out.channels + channel;
    };
    ctx.phase([&](int t) {
      for_each_output(p, l, share, acc(t), t, [&](int y, int x, int channel, float sum) {
        *partial_at(share.split, y, x, channel) = sum;
      });
      ctx.fence();
    });
    unsigned* const counter = p.counters + share.tile * p.groups + share.group;  // [tile][group]
    ctx.phase([&](int t) {
      if (t == 0) {
        const unsigned before = ctx.atomic_add(counter, 1u);
        smem.last_block[0] = before == static_cast<unsigned>(p.tiling.splits - 1) ? 1.0f : 0.0f;
      }
    });
    if (smem.last_block[0] == 0.0f) return;  // another block of this tile finishes it
    ctx.each([&](int t) {
      for_each_output(p, l, share, acc(t), t, [&](int y, int x, int channel, float) {
        float sum = 0.0f;
        for (int split = 0; split < p.tiling.splits; ++split) {
          sum += ctx.load_coherent(partial_at(split, y, x, channel));
        }
        finish(p, share, y, x, channel, sum);
      });
      if (t == 0) *counter = 0u;
    });
  }

  // One depthwise layer from level d (src) to level d + 1 (dst) of a chunk, in shared memory.
  struct level_pass {
    const float* src;
    int src_stride, rows_in, cols_in;  // src: channel j at src + j * src_stride, rows_in x cols_in
    float* dst;
    int dst_stride;
    span1 rows_out, cols_out;  // absolute position of dst's region
    const float* taps;         // tap k of channel j at taps[k * chunk + j]
    const float* bias;
    int chunk;
    const fused_stage& stage;
  };

  // Outputs outside the layer's image are the next layer's zero padding.
  LMNET_DEVICE static bool in_image(const level_pass& p, int ry, int rx) {
    const int y = p.rows_out.begin + ry, x = p.cols_out.begin + rx;
    return y >= 0 && y < p.stage.out_height && x >= 0 && x < p.stage.out_width;
  }

  // The padding after the region (the projection reads whole quads of pixels) is zero.
  LMNET_DEVICE static void zero_tail(const level_pass& p, int t) {
    const int pixels = p.rows_out.size * p.cols_out.size, tail = round_up(pixels, 4) - pixels;
    for (int i = t; i < p.chunk * tail; i += threads) {
      p.dst[(i / tail) * p.dst_stride + pixels + i % tail] = 0.0f;  // i: (chunk channel, tail)
    }
  }

  // 3x3 windows: each thread computes `rows` outputs down one column of one channel, with the nine
  // taps in registers; each input row it loads serves up to three of them.
  template <int Stride>
  LMNET_DEVICE static void depthwise3_strips(const level_pass& p, int t) {
    constexpr int rows = 4, span = (rows - 1) * Stride + 3;
    const int strips = ceil_div(p.rows_out.size, rows);
    const int items = p.chunk * strips * p.cols_out.size;
    for (int i = t; i < items; i += threads) {
      // i: (chunk channel, strip, column)
      const int rx = i % p.cols_out.size, rest = i / p.cols_out.size;
      const int ry0 = rest % strips * rows, j = rest / strips;
      float w[9];
      unrolled<9>([&](auto k) { w[k] = p.taps[k * p.chunk + j]; });
      float acc[rows];
      unrolled<rows>([&](auto o) { acc[o] = p.bias[j]; });
      const float* column = p.src + j * p.src_stride + rx * Stride;
      unrolled<span>([&](auto r) {
        const int iy = ry0 * Stride + r;
        if (iy >= p.rows_in) return;  // only outputs past the region read past it
        const float* row = column + iy * p.cols_in;
        const float v0 = row[0], v1 = row[1], v2 = row[2];
        unrolled<rows>([&](auto o) {
          constexpr int ky = decltype(r)::value - decltype(o)::value * Stride;
          if constexpr (ky >= 0 && ky < 3) {
            acc[o] += v0 * w[ky * 3] + v1 * w[ky * 3 + 1] + v2 * w[ky * 3 + 2];
          }
        });
      });
      unrolled<rows>([&](auto o) {
        const int ry = ry0 + o;
        if (ry < p.rows_out.size) {
          p.dst[j * p.dst_stride + ry * p.cols_out.size + rx] =  // (chunk, level pixels)
              in_image(p, ry, rx) ? activate(acc[o], p.stage.act) : 0.0f;
        }
      });
    }
    zero_tail(p, t);
  }

  // Any square window and stride: one output per item.
  LMNET_DEVICE static void depthwise_any(const level_pass& p, int t) {
    const int pixels = p.rows_out.size * p.cols_out.size, k = p.stage.kernel, s = p.stage.stride;
    for (int i = t; i < p.chunk * pixels; i += threads) {
      const int j = i / pixels, r = i % pixels;  // i: (chunk channel, level pixel)
      const int ry = r / p.cols_out.size, rx = r % p.cols_out.size;
      float v = 0.0f;
      if (in_image(p, ry, rx)) {
        float sum = p.bias[j];
        const float* window = p.src + j * p.src_stride + ry * s * p.cols_in + rx * s;
        for (int ky = 0; ky < k; ++ky) {
          for (int kx = 0; kx < k; ++kx) {
            sum += window[ky * p.cols_in + kx] * p.taps[(ky * k + kx) * p.chunk + j];
          }
        }
        v = activate(sum, p.stage.act);
      }
      p.dst[j * p.dst_stride + r] = v;
    }
    zero_tail(p, t);
  }
};

}  // namespace lmnet::cuda

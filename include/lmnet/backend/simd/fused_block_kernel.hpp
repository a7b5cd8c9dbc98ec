// SPDX-License-Identifier: Apache-2.0
// Runs a fused bottleneck (fused_block.hpp) over a band of output rows of one image, chunk by
// chunk: the rows each stage needs are computed once into rings of rows that stay in cache.
#pragma once

#include <lmnet/backend/simd/conv2d.hpp>
#include <lmnet/backend/simd/depthwise_conv2d.hpp>
#include <lmnet/backend/simd/fused_block.hpp>
#include <lmnet/backend/simd/gemm.hpp>
#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/core/shape.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/network/node.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>

namespace lmnet::simd {

namespace detail {

// Rows [lo, hi) of a tensor kept in `capacity` slots, row r in slot r % capacity.
template <class T>
struct row_ring {
  T* data = nullptr;
  int capacity = 1;
  std::ptrdiff_t row_elements = 0;
  int lo = 0;
  int hi = 0;

  T* row(int r) const { return data + static_cast<std::ptrdiff_t>(r % capacity) * row_elements; }
  // Forgets rows below `lo` when it jumps ahead; returns the first row still to compute.
  int start(int want_lo) {
    if (want_lo > hi) lo = hi = want_lo;
    return hi;
  }
  void filled(int want_hi) {
    hi = std::max(hi, want_hi);
    lo = std::max(lo, hi - capacity);
  }
};

}  // namespace detail

/// One thread's share of a block's hidden channels (fused_block::splits_channels): the
/// expansion's register blocks [first_block, last_block). The part with `partial` null adds the
/// bias and residual and writes the output; the others write their sums to `partial` (pixels
/// fused_block::partial_pitch floats apart). Neither applies the activation: add_partials does.
struct hidden_share {
  int first_block = 0;
  int last_block = 0;
  float* partial = nullptr;
};

/// Walks block `f` over output rows [y_begin, y_end) of image n, chunk by chunk, keeping the rows
/// each stage needs in rings of rows in `scratch` (elements of T: floats, or uint8 codes), and
/// leaves the arithmetic to its callbacks:
///   expand(r0, r1, dst)      hidden rows [r0, r1) (from `x`) into dst, pixels f.hidden_pitch apart
///   stage(b, j, rows, in_stride, dst, dst_stride)
///                            one output row of depthwise stage j of branch b, from the input
///                            rows its window covers (rows[ky], null for padding)
///   project(y0, y1, mid)     the projection of output rows [y0, y1) from the chunk's concatenated
///                            stage outputs (pixels f.project_pitch apart)
/// The expanded tensor never exists whole; each of its rows is computed once.
template <class T, class Expand, class Stage, class Project>
void walk_fused_block(const fused_block& f, const node* nodes, tensor_view<const T> x, int n,
                      int y_begin, int y_end, T* scratch, Expand&& expand, Stage&& stage,
                      Project&& project) {
  const shape mid = nodes[f.project].spec.input;
  const bool expands = f.expand >= 0;
  detail::row_ring<T> hidden;
  if (expands) {
    hidden = {scratch + f.hidden_offset, f.hidden_rows,
              static_cast<std::ptrdiff_t>(nodes[f.expand].spec.output.width) * f.hidden_pitch, 0,
              0};
  }
  const std::ptrdiff_t hidden_stride = expands ? f.hidden_pitch : x.channel_stride;
  auto hidden_row = [&](int r) -> const T* { return expands ? hidden.row(r) : &x(n, r, 0, 0); };
  auto ensure_hidden = [&](int lo, int hi) {
    if (!expands || lo >= hi) return;
    for (int r = hidden.start(lo); r < hi;) {
      const int piece = std::min(hi, (r / hidden.capacity + 1) * hidden.capacity);
      expand(r, piece, hidden.row(r));
      r = piece;
    }
    hidden.filled(hi);
  };

  std::array<std::array<detail::row_ring<T>, max_branch_depth>, max_branches> rings{};
  for (int b = 0; b < f.branch_count; ++b) {
    const fused_branch& br = f.branches[static_cast<std::size_t>(b)];
    for (int j = 0; j + 1 < br.depth; ++j) {
      const auto jj = static_cast<std::size_t>(j);
      const int w = nodes[br.nodes[jj]].spec.output.width;
      rings[static_cast<std::size_t>(b)][jj] = {scratch + br.ring_offset[jj], br.ring_rows[jj],
                                                static_cast<std::ptrdiff_t>(w) * br.ring_pitch[jj],
                                                0, 0};
    }
  }

  // Output row y of stage j of branch b, into `dst` (pixels `dst_stride` apart).
  auto stage_row = [&](int b, int j, int y, T* dst, std::ptrdiff_t dst_stride) {
    const fused_branch& br = f.branches[static_cast<std::size_t>(b)];
    const layer_spec& s = nodes[br.nodes[static_cast<std::size_t>(j)]].spec;
    std::array<const T*, max_depthwise_kernel> rows{};
    for (int ky = 0; ky < s.kernel.height; ++ky) {
      const int iy = y * s.stride.height - s.padding.height + ky;
      if (iy < 0 || iy >= s.input.height) continue;
      rows[static_cast<std::size_t>(ky)] =
          j == 0 ? hidden_row(iy) + br.channel_begin
                 : rings[static_cast<std::size_t>(b)][static_cast<std::size_t>(j - 1)].row(iy);
    }
    const std::ptrdiff_t in_stride =
        j == 0 ? hidden_stride : br.ring_pitch[static_cast<std::size_t>(j - 1)];
    stage(b, j, rows.data(), in_stride, dst, dst_stride);
  };

  T* const mid_buffer = scratch + f.project_offset;
  for (int y0 = y_begin; y0 < y_end; y0 += f.chunk_rows) {
    const int y1 = std::min(y_end, y0 + f.chunk_rows);
    // Rows each stage must hold, from the last stage back to the hidden tensor; the hidden rows
    // of every branch are computed first, so a branch reaching further back finds them too.
    std::array<std::array<span1, max_branch_depth + 1>, max_branches> need{};
    int hidden_lo = std::numeric_limits<int>::max(), hidden_hi = 0;
    for (int b = 0; b < f.branch_count; ++b) {
      const fused_branch& br = f.branches[static_cast<std::size_t>(b)];
      auto& w = need[static_cast<std::size_t>(b)];
      w[static_cast<std::size_t>(br.depth)] = {y0, y1 - y0};
      for (int j = br.depth - 1; j >= 0; --j) {
        const layer_spec& s = nodes[br.nodes[static_cast<std::size_t>(j)]].spec;
        w[static_cast<std::size_t>(j)] =
            window_input(w[static_cast<std::size_t>(j + 1)], s.kernel.height, s.stride.height,
                         s.padding.height)
                .clipped(s.input.height);
      }
      hidden_lo = std::min(hidden_lo, w[0].begin);
      hidden_hi = std::max(hidden_hi, w[0].end());
    }
    ensure_hidden(hidden_lo, hidden_hi);
    for (int b = 0; b < f.branch_count; ++b) {
      const fused_branch& br = f.branches[static_cast<std::size_t>(b)];
      const auto& w = need[static_cast<std::size_t>(b)];
      for (int j = 0; j + 1 < br.depth; ++j) {
        detail::row_ring<T>& ring = rings[static_cast<std::size_t>(b)][static_cast<std::size_t>(j)];
        const span1 rows = w[static_cast<std::size_t>(j + 1)];
        for (int r = ring.start(rows.begin); r < rows.end(); ++r) {
          stage_row(b, j, r, ring.row(r), br.ring_pitch[static_cast<std::size_t>(j)]);
        }
        ring.filled(rows.end());
      }
      for (int y = y0; y < y1; ++y) {
        stage_row(b, br.depth - 1, y,
                  mid_buffer + static_cast<std::ptrdiff_t>((y - y0) * mid.width) * f.project_pitch +
                      br.concat_offset,
                  f.project_pitch);
      }
    }
    project(y0, y1, static_cast<const T*>(mid_buffer));
  }
}

/// Output rows [y_begin, y_end) of image n of block `f`, or with a `share`, that share of every
/// output row. `nodes` and `packs` are the plan's nodes and their packing, `weights` the packed
/// weights, `scratch` the thread's scratch. With a `channel_step` (an ungrouped projection),
/// output channel j goes to channel j * channel_step of `out` (step::write).
template <class Arch>
void run_fused_block(const fused_block& f, const node* nodes, const packing* packs,
                     const float* weights, tensor_view<const float> x, tensor_view<float> out,
                     tensor_view<const float> residual, int n, int y_begin, int y_end,
                     float* scratch, const hidden_share* share = nullptr, int channel_step = 1) {
  const node& proj = nodes[f.project];
  const shape mid = proj.spec.input;
  // The hidden channels [h0, h1) this call computes: its share's, or all of them.
  constexpr int W = vector<Arch>::width;
  int first_vector = 0, last_vector = -1, h0 = 0, h1 = mid.channels;
  if (share != nullptr) {
    const gemm_layout& e = packs[f.expand].gemm;
    first_vector = std::min(e.vectors(), share->first_block * e.block_vectors);
    last_vector = std::min(e.vectors(), share->last_block * e.block_vectors);
    h0 = first_vector * W;
    h1 = std::max(h0, std::min(mid.channels, last_vector * W));
  }
  // A share of no hidden channel expands and filters nothing, but still writes its sums: the
  // bias (and residual) for the first part, zeros for the others.

  auto expand = [&](int r0, int r1, float* dst) {
    const node& e = nodes[f.expand];
    const packing& pk = packs[f.expand];
    if (f.expand_is_conv) {
      conv2d_rows<Arch>(e.spec, x, n, r0, r1, dst, f.hidden_pitch, f.hidden_pitch,
                        weights + pk.offset, pk, scratch + f.patch_offset);
      return;
    }
    gemm_args g;
    g.a = &x(n, r0, 0, 0);
    g.a_stride = x.channel_stride;
    g.rows = (r1 - r0) * x.width;
    g.packed = weights + pk.offset;
    g.layout = pk.gemm;
    g.c = dst;
    g.c_stride = f.hidden_pitch;
    g.n_store = f.hidden_pitch;
    g.act = e.spec.act;
    g.first_vector = first_vector;
    g.last_vector = last_vector;
    gemm<Arch>(g);
  };

  // A share's hidden channels start at h0 in every row of every stage.
  auto stage = [&](int b, int j, const float* const* rows, std::ptrdiff_t in_stride, float* dst,
                   std::ptrdiff_t dst_stride) {
    const fused_branch& br = f.branches[static_cast<std::size_t>(b)];
    const node& d = nodes[br.nodes[static_cast<std::size_t>(j)]];
    std::array<const float*, max_depthwise_kernel> shifted{};
    for (int ky = 0; ky < d.spec.kernel.height; ++ky) {
      const float* r = rows[ky];
      shifted[static_cast<std::size_t>(ky)] = r == nullptr ? nullptr : r + h0;
    }
    depthwise_args a;
    a.rows = shifted.data();
    a.in_stride = in_stride;
    a.in_width = d.spec.input.width;
    a.out = dst + h0;
    a.out_stride = dst_stride;
    a.out_width = d.spec.output.width;
    a.channels = share != nullptr ? h1 - h0 : br.channels;
    const packing& pk = packs[br.nodes[static_cast<std::size_t>(j)]];
    a.packed = weights + pk.offset + h0;
    a.weight_pitch = pk.depthwise.padded_channels();
    a.kernel = d.spec.kernel.height;
    a.stride = d.spec.stride.height;
    a.padding = d.spec.padding.height;
    a.act = d.spec.act;
    depthwise_row<Arch>(a);
  };

  const packing& pp = packs[f.project];
  const int groups = proj.spec.groups;
  const int in_per_group = mid.channels / groups,
            out_per_group = proj.spec.output.channels / groups;
  auto project = [&](int y0, int y1, const float* mid_buffer) {
    for (int g = 0; g < groups; ++g) {
      gemm_args a;
      a.a = mid_buffer + g * in_per_group;
      a.a_stride = f.project_pitch;
      a.rows = (y1 - y0) * mid.width;
      a.packed = weights + pp.offset + static_cast<std::size_t>(g) * pp.group_floats;
      a.layout = pp.gemm;
      a.c = &out(n, y0, 0, g * out_per_group);
      a.c_stride = out.channel_stride;
      a.c_step = channel_step;
      a.n_store = out_per_group;
      if (residual.data != nullptr) {
        a.residual = &residual(n, y0, 0, g * out_per_group);
        a.residual_stride = residual.channel_stride;
      }
      a.act = proj.spec.act;
      if (share != nullptr) {
        a.a += h0;
        a.k_begin = h0;
        a.k_count = h1 - h0;
        a.act = activation::none;
        if (share->partial != nullptr) {
          a.c = share->partial + static_cast<std::ptrdiff_t>(y0 * out.width) * f.partial_pitch;
          a.c_stride = f.partial_pitch;
          a.residual = nullptr;
          a.bias = false;
        }
      }
      gemm<Arch>(a);
    }
  };
  walk_fused_block<float>(f, nodes, x, n, y_begin, y_end, scratch, expand, stage, project);
}

/// Completes a block split by hidden channels: adds the `count` partial sums (pixels `pitch`
/// floats apart, one image) to output rows [y_begin, y_end) of image n and applies `act`.
template <class Arch>
void add_partials(tensor_view<float> out, int n, const float* const* partials, int count, int pitch,
                  activation act, int y_begin, int y_end) {
  using V = vector<Arch>;
  constexpr int W = V::width;
  for (int y = y_begin; y < y_end; ++y) {
    for (int x = 0; x < out.width; ++x) {
      float* o = &out(n, y, x, 0);
      const std::ptrdiff_t at = static_cast<std::ptrdiff_t>(y * out.width + x) * pitch;
      for (int c = 0; c < out.channels; c += W) {
        const int lanes = std::min(W, out.channels - c);
        auto sum = V::load_first(o + c, lanes);
        for (int t = 0; t < count; ++t) sum += V::load_first(partials[t] + at + c, lanes);
        V::store_first(o + c, V::activate(sum, act), lanes);
      }
    }
  }
}

}  // namespace lmnet::simd

// SPDX-License-Identifier: Apache-2.0
// A bottleneck that the simd backend runs as one step: the matched structure
// (network/bottleneck.hpp), the stem it may absorb, and the rings of rows and buffers each thread
// needs to run it chunk by chunk (fused_block_kernel.hpp), decided at compile time.
#pragma once

#include <lmnet/backend/simd/conv2d.hpp>
#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/core/shape.hpp>
#include <lmnet/network/bottleneck.hpp>
#include <lmnet/network/node.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <vector>

namespace lmnet::simd {

/// A branch of a fused block, and the rings of rows between its depthwise layers.
struct fused_branch : bottleneck_branch {
  // Stage j < depth - 1 writes a ring of rows read by stage j + 1.
  std::array<int, max_branch_depth> ring_rows{};
  std::array<int, max_branch_depth> ring_pitch{};
  std::array<std::size_t, max_branch_depth> ring_offset{};
};

/// An inverted residual or L-Mobilenet bottleneck run as one step: for each chunk of output rows,
/// the expansion fills a ring of hidden rows (each computed once), the depthwise chains read
/// them, and the projection (with the residual) consumes their output while it is in cache. The
/// expanded tensor never exists whole.
struct fused_block {
  int first = 0;                 // the nodes [first, project] it runs (and `expand`, a stem)
  int input = -1;                // value the block reads
  int output = -1;               // value it writes
  int expand = -1;               // expansion node, or -1 when the depthwise layers read the input
  bool expand_is_conv = false;   // a standard convolution (a stem) rather than a pointwise one
  std::size_t patch_offset = 0;  // its patch matrix in the scratch
  int project = -1;
  int hidden_pitch = 0;  // floats per pixel in the hidden ring
  int hidden_rows = 0;   // ring capacity, in rows
  std::size_t hidden_offset = 0;
  int branch_count = 0;
  std::array<fused_branch, max_branches> branches{};
  int project_pitch = 0;
  std::size_t project_offset = 0;
  int chunk_rows = 1;  // output rows per chunk
  std::size_t scratch_floats = 0;
  // Threads may share out the hidden channels instead of the rows (run_fused_block with a
  // hidden_share): on few rows, a split by rows repeats halo rows of the expansion and cannot cut
  // evenly.
  // Each part but the first sums its inputs' share of the projection into `partial_offset` in its
  // scratch (the whole output of one image, pixels `partial_pitch` floats apart).
  bool splits_channels = false;
  std::size_t partial_offset = 0;
  int partial_pitch = 0;
};

namespace detail {

inline constexpr std::size_t scratch_budget = 65536;  // floats of ring and chunk buffers: 256 KiB
// Fused blocks of at most this many output rows may be split by hidden channels.
inline constexpr int channel_split_max_rows = 16;

template <class Plan>
constexpr const node& node_at(const Plan& p, int i) {
  return p.nodes[static_cast<std::size_t>(i)];
}

// Sizes the rings and buffers of `f` for `rows` output rows per chunk; returns the scratch floats.
template <class Plan>
constexpr std::size_t size_block(const Plan& p, fused_block& f, int rows, int width) {
  const int far = 1 << 20;  // a chunk far from the borders: steady-state windows
  const shape out = node_at(p, f.project).spec.input;
  std::size_t cursor = 0;
  int hidden_lo = std::numeric_limits<int>::max(), hidden_hi = std::numeric_limits<int>::min();
  for (int b = 0; b < f.branch_count; ++b) {
    fused_branch& br = f.branches[static_cast<std::size_t>(b)];
    span1 w{far, rows};
    for (int j = br.depth - 1; j >= 0; --j) {
      const layer_spec& s = node_at(p, br.nodes[static_cast<std::size_t>(j)]).spec;
      w = window_input(w, s.kernel.height, s.stride.height, s.padding.height);
      if (j > 0) {  // the ring of stage j - 1's output holds window w
        const auto jj = static_cast<std::size_t>(j - 1);
        br.ring_rows[jj] = w.size;
        br.ring_pitch[jj] = (br.channels + width - 1) / width * width;
        br.ring_offset[jj] = cursor;
        cursor += round_up_16(static_cast<std::size_t>(br.ring_rows[jj]) *
                              static_cast<std::size_t>(s.input.width) *
                              static_cast<std::size_t>(br.ring_pitch[jj]));
      }
    }
    hidden_lo = std::min(hidden_lo, w.begin);
    hidden_hi = std::max(hidden_hi, w.end());
  }
  if (f.expand >= 0) {
    const layer_spec& e = node_at(p, f.expand).spec;
    if (f.expand_is_conv) {
      f.patch_offset = cursor;
      cursor += round_up_16(conv2d_scratch_floats(e));
    }
    f.hidden_rows = hidden_hi - hidden_lo;
    f.hidden_pitch = (e.output.channels + width - 1) / width * width;
    f.hidden_offset = cursor;
    cursor += round_up_16(static_cast<std::size_t>(f.hidden_rows) *
                          static_cast<std::size_t>(e.output.width) *
                          static_cast<std::size_t>(f.hidden_pitch));
  }
  f.project_pitch = (out.channels + width - 1) / width * width;
  f.project_offset = cursor;
  cursor += round_up_16(static_cast<std::size_t>(rows) * static_cast<std::size_t>(out.width) *
                        static_cast<std::size_t>(f.project_pitch));
  f.chunk_rows = rows;
  f.scratch_floats = cursor;
  return cursor;
}

// The fused form of bottleneck `m`: fills `f`. Without an expansion, a standard convolution
// (MobileNetV2's stem) whose output only this block reads becomes the expansion: its output rows
// go to the ring too.
template <class Plan>
constexpr void plan_fused_block(const Plan& p, const bottleneck& m, int width, fused_block& f) {
  f = fused_block{};
  f.first = m.first;
  f.input = m.input;
  f.expand = m.expand;
  f.project = m.project;
  f.output = node_at(p, m.project).output;
  f.branch_count = m.branch_count;
  for (int k = 0; k < m.branch_count; ++k) {
    static_cast<bottleneck_branch&>(f.branches[static_cast<std::size_t>(k)]) = m.branch(k);
  }
  const lmnet::value& x = p.value_at(f.input);
  if (f.expand < 0 && x.producer >= 0 && x.consumers == 1 && x.storage == f.input &&
      f.input != p.output_value) {
    const node& c = node_at(p, x.producer);
    if (c.kind() == op::conv2d && !c.elided && c.residual < 0 && c.spec.groups == 1 &&
        c.input() != f.input) {
      f.expand = x.producer;
      f.expand_is_conv = true;
      f.input = c.input();
    }
  }

  // The largest chunk whose buffers fit the budget.
  const int height = node_at(p, f.project).spec.output.height;
  int rows = height;
  while (rows > 1 && size_block(p, f, rows, width) > scratch_budget) --rows;
  size_block(p, f, rows, width);
}

// Calls f(block) for each bottleneck of `p` (for_each_bottleneck), in node order, with the stem
// it absorbs when no earlier block took that stem.
template <class Plan, class F>
constexpr void for_each_fused_block(const Plan& p, int width, F&& f) {
  std::vector<bool> taken(p.nodes.size(), false);
  for_each_bottleneck(p, [&](const bottleneck& m) {
    fused_block b;
    plan_fused_block(p, m, width, b);
    if (b.expand_is_conv && taken[static_cast<std::size_t>(b.expand)]) return;
    for (int i = b.first; i <= b.project; ++i) taken[static_cast<std::size_t>(i)] = true;
    if (b.expand_is_conv) taken[static_cast<std::size_t>(b.expand)] = true;
    f(b);
  });
}

// A block of few rows with a pointwise expansion, one depthwise layer over all of its output and
// a plain projection, both products in the broadcast form (their inputs and outputs can then be
// cut at register blocks): marks it splittable by hidden channels and makes room for its partial
// sums.
template <class Plan, class Packs>
constexpr void allow_channel_split(const Plan& p, const Packs& packs, fused_block& f, int width) {
  const layer_spec& out = node_at(p, f.project).spec;
  const fused_branch& br = f.branches[0];
  if (f.expand < 0 || f.expand_is_conv || f.branch_count != 1 || br.depth != 1 ||
      br.channel_begin != 0 || br.concat_offset != 0 || out.groups != 1 ||
      br.channels != node_at(p, f.expand).spec.output.channels ||
      br.channels != out.input.channels || out.output.height > channel_split_max_rows ||
      packs[static_cast<std::size_t>(f.expand)].gemm.phases != 1 ||
      packs[static_cast<std::size_t>(f.project)].gemm.phases != 1) {
    return;
  }
  f.splits_channels = true;
  f.partial_pitch = (out.output.channels + width - 1) / width * width;
  f.partial_offset = f.scratch_floats;
  f.scratch_floats += round_up_16(static_cast<std::size_t>(out.output.height) *
                                  static_cast<std::size_t>(out.output.width) *
                                  static_cast<std::size_t>(f.partial_pitch));
}

}  // namespace detail

}  // namespace lmnet::simd

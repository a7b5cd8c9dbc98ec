// SPDX-License-Identifier: Apache-2.0
// What the simd backend runs for a plan, decided at compile time: the steps (single layers, and
// whole bottleneck blocks fused tile by tile), where each layer's packed weights live, the
// activation arena of the tensors that still exist once blocks are fused, and the scratch each
// thread needs.
#pragma once

#include <lmnet/backend/simd/conv2d.hpp>
#include <lmnet/backend/simd/dense.hpp>
#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/network/plan.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace lmnet::simd {

enum class step_kind : std::uint8_t {
  pointwise,
  depthwise,
  conv2d,
  dense,
  max_pool2d,
  global_avg_pool,
  add,
  activation,
  concat,
  channel_shuffle,
  softmax,
  fused_block,
  strided_copy,  // a concat input that no layer produces, copied into its shuffled place
};

inline constexpr int max_branches = 4;
inline constexpr int max_branch_depth = 4;

/// One chain of depthwise layers inside a fused block, reading a channel range of the hidden
/// tensor and writing its slot of the projection's input.
struct fused_branch {
  int channel_begin = 0;  // first channel of the hidden tensor it reads
  int channels = 0;
  int depth = 0;
  std::array<int, max_branch_depth> nodes{};  // depthwise nodes, first to last
  int concat_offset = 0;                      // first channel it writes in the projection's input
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

struct step {
  step_kind kind = step_kind::pointwise;
  int node = -1;   // the layer; for a fused block, its projection; for a copy, the shuffle
  int block = -1;  // index into schedule::blocks for fused blocks
  bool parallel = false;
  // A concat followed by a channel shuffle is never materialised: the layers producing its
  // inputs write straight into the shuffle's output, channel j of input i at i + j * step (a
  // strided_copy brings the inputs no layer produces).
  int write = -1;  // value whose memory receives the output instead of the node's own
  int channel_offset = 0;
  int channel_step = 1;
  int source = -1;  // strided_copy: the value copied
};

template <std::size_t N, std::size_t V, std::size_t B>
struct schedule {
  std::array<step, 2 * N> steps{};
  int step_count = 0;
  std::array<fused_block, B> blocks{};
  int block_count = 0;
  std::array<packing, N> packs{};
  std::size_t weight_floats = 0;
  std::array<std::size_t, V> offsets{};  // per-image arena offset of every materialised owner
  std::size_t arena_floats = 0;          // per image
  std::size_t scratch_floats = 0;        // per thread
  int width = 1;
};

namespace detail {

inline constexpr std::size_t scratch_budget = 65536;  // floats of ring and chunk buffers: 256 KiB
inline constexpr std::size_t parallel_threshold = 32768;  // work below it runs on one thread
// Fused blocks of at most this many output rows may be split by hidden channels.
inline constexpr int channel_split_max_rows = 16;

struct row_window {
  int lo = 0;  // first row
  int hi = 0;  // one past the last
};

// Input rows a window layer reads to produce output rows w (unclipped).
constexpr row_window rows_read(const layer_spec& s, row_window w) {
  return {w.lo * s.stride.height - s.padding.height,
          (w.hi - 1) * s.stride.height - s.padding.height + s.kernel.height};
}

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
    row_window w{far, far + rows};
    for (int j = br.depth - 1; j >= 0; --j) {
      const layer_spec& s = node_at(p, br.nodes[static_cast<std::size_t>(j)]).spec;
      w = rows_read(s, w);
      if (j > 0) {  // the ring of stage j - 1's output holds window w
        const auto jj = static_cast<std::size_t>(j - 1);
        br.ring_rows[jj] = w.hi - w.lo;
        br.ring_pitch[jj] = (br.channels + width - 1) / width * width;
        br.ring_offset[jj] = cursor;
        cursor += round_up_16(static_cast<std::size_t>(br.ring_rows[jj]) *
                              static_cast<std::size_t>(s.input.width) *
                              static_cast<std::size_t>(br.ring_pitch[jj]));
      }
    }
    hidden_lo = std::min(hidden_lo, w.lo);
    hidden_hi = std::max(hidden_hi, w.hi);
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

// Whether block `b` is an expansion (optional), depthwise chains over channel ranges of its
// output, and a pointwise projection of their concatenation; fills `f` if so.
template <class Plan>
constexpr bool match_block(const Plan& p, const block_record& b, int width, fused_block& f) {
  if (b.kind != block_kind::inverted_residual && b.kind != block_kind::l_bottleneck) return false;
  if (b.last < b.first) return false;
  auto value = [&](int v) -> const lmnet::value& { return p.value_at(v); };
  auto inside = [&](int i) { return i >= b.first && i <= b.last; };
  const node& proj = node_at(p, b.last);
  if (proj.kind() != op::pointwise_conv2d || proj.elided) return false;
  f = fused_block{};
  f.project = b.last;
  f.output = proj.output;

  // The one value read from outside (the projection's residual aside).
  for (int i = b.first; i <= b.last; ++i) {
    const node& n = node_at(p, i);
    for (int k = 0; k < n.input_count; ++k) {
      const int v = n.inputs[static_cast<std::size_t>(k)];
      if (inside(value(v).producer)) continue;
      if (f.input >= 0 && f.input != v) return false;
      f.input = v;
    }
  }
  if (f.input < 0) return false;

  // Every node is the expansion, a depthwise layer, a view (slice, in-place concat) or the
  // projection; nothing inside is read from outside.
  int hidden = f.input;
  int depthwise_count = 0;
  for (int i = b.first; i < b.last; ++i) {
    const node& n = node_at(p, i);
    int reads_inside = 0;
    for (int j = b.first; j <= b.last; ++j) {
      const node& m = node_at(p, j);
      for (int k = 0; k < m.input_count; ++k) {
        reads_inside += m.inputs[static_cast<std::size_t>(k)] == n.output ? 1 : 0;
      }
      reads_inside += m.residual == n.output ? 1 : 0;
    }
    if (value(n.output).consumers != reads_inside || n.output == p.output_value) return false;
    if (n.elided) {
      if (n.kind() != op::channel_slice && n.kind() != op::concat) return false;
    } else if (n.kind() == op::pointwise_conv2d && i == b.first && n.input() == f.input &&
               n.residual < 0 && n.spec.groups == 1) {
      f.expand = i;
      hidden = n.output;
    } else if (n.kind() == op::depthwise_conv2d && n.residual < 0) {
      ++depthwise_count;
    } else {
      return false;
    }
  }

  // Depthwise chains that start on a view of the hidden tensor.
  const lmnet::value& h = value(hidden);
  int chained = 0;
  for (int i = b.first; i < b.last; ++i) {
    const node& n = node_at(p, i);
    if (n.elided || n.kind() != op::depthwise_conv2d) continue;
    const lmnet::value& in = value(n.input());
    const bool reads_hidden =
        n.input() == hidden || (in.storage == h.storage && inside(in.producer) &&
                                node_at(p, in.producer).kind() == op::channel_slice);
    if (!reads_hidden) continue;
    if (f.branch_count == max_branches) return false;
    fused_branch& br = f.branches[static_cast<std::size_t>(f.branch_count++)];
    br.channel_begin = in.channel_offset - h.channel_offset;
    br.channels = in.image.channels;
    int last = i;
    br.nodes[0] = i;
    br.depth = 1;
    for (bool grown = true; grown;) {
      grown = false;
      for (int j = last + 1; j < b.last; ++j) {
        const node& m = node_at(p, j);
        if (!m.elided && m.kind() == op::depthwise_conv2d && m.input() == node_at(p, last).output) {
          if (br.depth == max_branch_depth) return false;
          br.nodes[static_cast<std::size_t>(br.depth++)] = j;
          last = j;
          grown = true;
          break;
        }
      }
    }
    chained += br.depth;
    // Its end is the projection's input, or written in place into the concat that is.
    const int end = node_at(p, last).output;
    const lmnet::value& pin = value(proj.input());
    if (end == proj.input()) {
      br.concat_offset = 0;
    } else if (value(end).storage == pin.storage && pin.storage >= 0 && inside(pin.producer) &&
               node_at(p, pin.producer).kind() == op::concat) {
      br.concat_offset = value(end).channel_offset - pin.channel_offset;
    } else {
      return false;
    }
    if (value(end).image.height != pin.image.height || value(end).image.width != pin.image.width)
      return false;
  }
  if (f.branch_count == 0 || chained != depthwise_count) return false;
  int total = 0;
  for (int k = 0; k < f.branch_count; ++k)
    total += f.branches[static_cast<std::size_t>(k)].channels;
  if (total != proj.spec.input.channels) return false;

  // Without an expansion, a standard convolution (MobileNetV2's stem) whose output only this block
  // reads becomes the expansion: its output rows go to the ring too.
  const lmnet::value& x = value(f.input);
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
  const int height = proj.spec.output.height;
  int rows = height;
  while (rows > 1 && size_block(p, f, rows, width) > scratch_budget) --rows;
  size_block(p, f, rows, width);
  return true;
}

// Folds each channel shuffle whose input is a concat read by nothing else into the concat's
// producers: see step::write. Steps that go away are dropped from `steps`.
template <class Plan>
constexpr void fold_shuffles(const Plan& p, std::vector<step>& steps) {
  auto step_of = [&](int node) {
    for (std::size_t k = 0; k < steps.size(); ++k) {
      if (steps[k].node == node && steps[k].kind != step_kind::fused_block)
        return static_cast<int>(k);
    }
    return -1;
  };
  std::vector<step> result;
  std::vector<bool> dropped(steps.size(), false);
  std::vector<std::vector<step>> copies_at(steps.size());
  for (std::size_t k = 0; k < steps.size(); ++k) {
    if (steps[k].kind != step_kind::channel_shuffle) continue;
    const node& sh = node_at(p, steps[k].node);
    const lmnet::value& joined = p.value_at(sh.input());
    if (joined.producer < 0 || joined.consumers != 1) continue;
    const node& cat = node_at(p, joined.producer);
    const int groups = sh.spec.groups;
    if (cat.kind() != op::concat || cat.input_count != groups) continue;
    bool equal = true;
    for (int i = 0; i < groups; ++i) {
      equal =
          equal && p.value_at(cat.inputs[static_cast<std::size_t>(i)]).image.channels * groups ==
                       joined.image.channels;
    }
    if (!equal) continue;
    for (int i = 0; i < groups; ++i) {
      const int v = cat.inputs[static_cast<std::size_t>(i)];
      const lmnet::value& in = p.value_at(v);
      const int producer = in.producer < 0 ? -1 : step_of(in.producer);
      const bool redirect =
          producer >= 0 && in.consumers == 1 && in.storage == joined.storage &&
          steps[static_cast<std::size_t>(producer)].kind == step_kind::pointwise &&
          steps[static_cast<std::size_t>(producer)].write < 0 &&
          node_at(p, in.producer).spec.groups == 1;
      if (redirect) {
        step& pr = steps[static_cast<std::size_t>(producer)];
        pr.write = sh.output;
        pr.channel_offset = i;
        pr.channel_step = groups;
      } else {
        step copy;
        copy.kind = step_kind::strided_copy;
        copy.node = steps[k].node;
        copy.source = v;
        copy.write = sh.output;
        copy.channel_offset = i;
        copy.channel_step = groups;
        copy.parallel = sh.spec.output.size() >= parallel_threshold;
        copies_at[k].push_back(copy);
      }
    }
    dropped[k] = true;
    const int concat_step = step_of(joined.producer);
    if (concat_step >= 0) dropped[static_cast<std::size_t>(concat_step)] = true;
  }
  for (std::size_t k = 0; k < steps.size(); ++k) {
    for (const step& c : copies_at[k]) result.push_back(c);
    if (!dropped[k]) result.push_back(steps[k]);
  }
  steps = result;
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

template <class Plan>
constexpr bool parallel_worth(const Plan& p, const step& s) {
  const node& n = node_at(p, s.node);
  const std::size_t work = n.spec.macs() + n.spec.output.size();
  return work >= parallel_threshold;
}

}  // namespace detail

/// The schedule of `p` for registers of `width` floats and a file of `registers` of them.
template <int Width, int Registers, std::size_t N, std::size_t V, std::size_t B>
constexpr schedule<N, V, B> make_schedule(const plan<N, V, B>& p) {
  using detail::node_at;
  schedule<N, V, B> s;
  s.width = Width;

  // Packed weights.
  std::size_t cursor = 0;
  for (std::size_t i = 0; i < N; ++i) {
    s.packs[i] = packing_for(p.nodes[i].spec, Width, Registers);
    s.packs[i].offset = cursor;
    cursor += s.packs[i].floats;
  }
  s.weight_floats = cursor;

  // Steps: fused blocks where they match, single layers elsewhere.
  std::vector<int> block_of(N, -1);
  for (std::size_t b = 0; b < B; ++b) {
    fused_block f;
    const block_record& r = p.blocks[b];
    bool free = r.last >= r.first;
    for (int i = r.first; free && i <= r.last; ++i)
      free = block_of[static_cast<std::size_t>(i)] < 0;
    if (!free || !detail::match_block(p, r, Width, f)) continue;
    if (f.expand_is_conv && block_of[static_cast<std::size_t>(f.expand)] >= 0) continue;
    detail::allow_channel_split(p, s.packs, f, Width);
    s.blocks[static_cast<std::size_t>(s.block_count)] = f;
    for (int i = r.first; i <= r.last; ++i) block_of[static_cast<std::size_t>(i)] = s.block_count;
    if (f.expand_is_conv) block_of[static_cast<std::size_t>(f.expand)] = s.block_count;
    ++s.block_count;
  }
  std::vector<step> steps;
  for (int i = 0; i < static_cast<int>(N); ++i) {
    const node& n = node_at(p, i);
    const int b = block_of[static_cast<std::size_t>(i)];
    step st;
    if (b >= 0) {
      if (i != s.blocks[static_cast<std::size_t>(b)].project) continue;
      st.kind = step_kind::fused_block;
      st.block = b;
    } else if (n.elided) {
      continue;
    } else {
      switch (n.kind()) {
        case op::pointwise_conv2d:
          st.kind = step_kind::pointwise;
          break;
        case op::depthwise_conv2d:
          st.kind = step_kind::depthwise;
          break;
        case op::conv2d:
          st.kind = step_kind::conv2d;
          break;
        case op::dense:
          st.kind = step_kind::dense;
          break;
        case op::max_pool2d:
          st.kind = step_kind::max_pool2d;
          break;
        case op::global_avg_pool:
          st.kind = step_kind::global_avg_pool;
          break;
        case op::add:
          st.kind = step_kind::add;
          break;
        case op::activation:
          st.kind = step_kind::activation;
          break;
        case op::concat:
          st.kind = step_kind::concat;
          break;
        case op::channel_shuffle:
          st.kind = step_kind::channel_shuffle;
          break;
        case op::softmax:
          st.kind = step_kind::softmax;
          break;
        default:
          continue;  // batch norms are folded and slices are views
      }
    }
    st.node = i;
    st.parallel = detail::parallel_worth(p, st);
    steps.push_back(st);
  }
  detail::fold_shuffles(p, steps);
  for (const step& st : steps) s.steps[static_cast<std::size_t>(s.step_count++)] = st;

  // Scratch per thread: the largest need of any step.
  for (int k = 0; k < s.step_count; ++k) {
    const step& st = s.steps[static_cast<std::size_t>(k)];
    const node& n = node_at(p, st.node);
    std::size_t need = 0;
    if (st.kind == step_kind::fused_block) {
      need = s.blocks[static_cast<std::size_t>(st.block)].scratch_floats;
    } else if (st.kind == step_kind::conv2d) {
      need = conv2d_scratch_floats(n.spec);
    } else if (st.kind == step_kind::dense) {
      need = dense_scratch_floats(n.spec);
    }
    s.scratch_floats = std::max(s.scratch_floats, round_up_16(need));
  }

  // Arena: the owners of tensors that steps read or write, placed greedily (largest first) at the
  // lowest offset that no tensor alive at the same time occupies.
  constexpr int forever = std::numeric_limits<int>::max();
  std::vector<int> first(V, forever), last(V, -1);
  auto touch = [&](int v, int at, bool writes) {
    const int owner = p.value_at(v).storage;
    if (owner < 0) return;
    const auto o = static_cast<std::size_t>(owner);
    if (writes) first[o] = std::min(first[o], at);
    last[o] = std::max(last[o], at);
  };
  for (int k = 0; k < s.step_count; ++k) {
    const step& st = s.steps[static_cast<std::size_t>(k)];
    const node& n = node_at(p, st.node);
    if (st.kind == step_kind::fused_block) {
      const fused_block& f = s.blocks[static_cast<std::size_t>(st.block)];
      touch(f.input, k, false);
      touch(f.output, k, true);
    } else if (st.kind == step_kind::strided_copy) {
      touch(st.source, k, false);
      touch(st.write, k, true);
    } else if (st.write >= 0) {
      for (int j = 0; j < n.input_count; ++j)
        touch(n.inputs[static_cast<std::size_t>(j)], k, false);
      touch(st.write, k, true);
    } else {
      for (int j = 0; j < n.input_count; ++j)
        touch(n.inputs[static_cast<std::size_t>(j)], k, false);
      touch(n.output, k, true);
    }
    if (n.residual >= 0) touch(n.residual, k, false);
  }
  if (p.value_at(p.output_value).storage >= 0) {
    last[static_cast<std::size_t>(p.value_at(p.output_value).storage)] = forever;
  }
  std::vector<int> order;
  for (std::size_t v = 0; v < V; ++v) {
    if (first[v] != forever) order.push_back(static_cast<int>(v));
  }
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return p.value_at(a).image.size() > p.value_at(b).image.size(); });
  std::vector<int> placed;
  for (int v : order) {
    const auto vu = static_cast<std::size_t>(v);
    const std::size_t size = round_up_16(p.value_at(v).image.size());
    std::size_t offset = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (int q : placed) {
        const auto qu = static_cast<std::size_t>(q);
        const bool together = !(last[qu] < first[vu] || last[vu] < first[qu]);
        const std::size_t q_end = s.offsets[qu] + round_up_16(p.value_at(q).image.size());
        if (together && offset < q_end && s.offsets[qu] < offset + size) {
          offset = q_end;
          moved = true;
        }
      }
    }
    s.offsets[vu] = offset;
    placed.push_back(v);
    s.arena_floats = std::max(s.arena_floats, offset + size);
  }
  return s;
}

}  // namespace lmnet::simd

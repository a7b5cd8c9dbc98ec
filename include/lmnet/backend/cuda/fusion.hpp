// SPDX-License-Identifier: Apache-2.0
// Which blocks of a plan run as one fused kernel (kernels/fused_block.hpp): the plan records each
// block's node range; this reads the structure inside it and accepts the shape the fused kernel
// computes, whatever the block's name.
#pragma once

#include <lmnet/backend/cuda/kernels/fused_block.hpp>
#include <lmnet/network/node.hpp>

#include <cstddef>

namespace lmnet::cuda {

/// A bottleneck in a plan: node indices of its layers.
struct fused_pattern {
  bool valid = false;
  int first = 0, last = 0;  // node range it covers
  int expand = -1;          // 1x1 expansion, or -1
  int input = -1;           // value the block reads
  int branch_count = 0;
  struct branch {
    int begin = 0, end = 0;  // expanded channels
    int depth = 0;
    int nodes[fused_max_depth]{};
  } branches[fused_max_branches]{};
  int project = -1;
};

namespace detail {

constexpr bool is_square_window(const layer_spec& s) {
  return s.kernel.height == s.kernel.width && s.stride.height == s.stride.width &&
         s.padding.height == s.padding.width && s.kernel.height % 2 == 1;
}

}  // namespace detail

/// Matches `[1x1 expand] -> branches of depthwise layers over channel ranges -> [concat] -> 1x1
/// project [+ residual]` in the node range of `block`; `valid` is false for anything else (the
/// block then runs node by node).
template <class Plan>
constexpr fused_pattern match_fused_block(const Plan& plan, const block_record& block) {
  fused_pattern f{};
  if (block.kind == block_kind::none || block.last < block.first) return f;
  f.first = block.first;
  f.last = block.last;
  auto node_at = [&](int i) -> const node& { return plan.nodes[static_cast<std::size_t>(i)]; };
  auto inside = [&](int i) { return i >= block.first && i <= block.last; };

  const node& project = node_at(block.last);
  if (project.kind() != op::pointwise_conv2d || project.elided) return f;
  f.project = block.last;
  const node& head = node_at(block.first);
  int expanded = -1;  // the value the branches read
  if (head.kind() == op::pointwise_conv2d && head.spec.groups == 1 && head.residual < 0) {
    f.expand = block.first;
    f.input = head.input();
    expanded = head.output;
  } else if (head.kind() == op::depthwise_conv2d) {
    f.input = head.input();
    expanded = f.input;
  } else {
    return f;
  }
  const int channels = plan.value_at(expanded).image.channels;

  // Every other node is a view, a concat or a depthwise layer; depthwise layers reading the
  // expanded tensor (or a slice of it) start branches.
  int depthwise_count = 0, concat = -1;
  for (int i = block.first; i < block.last; ++i) {
    const node& n = node_at(i);
    if (i == f.expand) continue;
    if (n.kind() == op::depthwise_conv2d) {
      if (n.residual >= 0 || !detail::is_square_window(n.spec)) return f;
      ++depthwise_count;
      int begin = -1, width = 0;
      if (n.input() == expanded) {
        begin = 0, width = channels;
      } else {
        const int producer = plan.value_at(n.input()).producer;
        if (producer >= 0 && inside(producer) && node_at(producer).kind() == op::channel_slice &&
            node_at(producer).input() == expanded) {
          begin = node_at(producer).spec.channel_begin;
          width = node_at(producer).spec.output.channels;
        }
      }
      if (begin < 0) continue;  // not a branch start
      if (f.branch_count == fused_max_branches) return f;
      auto& b = f.branches[f.branch_count++];
      b.begin = begin, b.end = begin + width;
      b.nodes[b.depth++] = i;
    } else if (n.kind() == op::concat) {
      if (concat >= 0) return f;
      concat = i;
    } else if (n.kind() != op::channel_slice) {
      return f;
    }
  }
  if (f.branch_count == 0) return f;

  // Follow each branch: the depthwise layer reading its last output comes next.
  int in_branches = 0;
  for (int b = 0; b < f.branch_count; ++b) {
    auto& br = f.branches[b];
    for (bool extended = true; extended;) {
      extended = false;
      const int tail = node_at(br.nodes[br.depth - 1]).output;
      for (int i = block.first; i < block.last; ++i) {
        const node& n = node_at(i);
        if (n.kind() == op::depthwise_conv2d && n.input() == tail) {
          if (br.depth == fused_max_depth) return f;
          br.nodes[br.depth++] = i;
          extended = true;
          break;
        }
      }
    }
    in_branches += br.depth;
  }
  if (in_branches != depthwise_count) return f;

  // Branches side by side cover the expanded channels in order, and the projection reads them in
  // that order: its input channel e is expanded channel e.
  for (int b = 0; b < f.branch_count; ++b) {
    if (f.branches[b].begin != (b == 0 ? 0 : f.branches[b - 1].end)) return f;
  }
  if (f.branches[f.branch_count - 1].end != channels) return f;
  auto tail_of = [&](int b) {
    const auto& br = f.branches[b];
    return node_at(br.nodes[br.depth - 1]).output;
  };
  if (f.branch_count == 1 && concat < 0) {
    if (project.input() != tail_of(0)) return f;
  } else {
    if (concat < 0 || project.input() != node_at(concat).output) return f;
    const node& c = node_at(concat);
    if (c.input_count != f.branch_count) return f;
    for (int b = 0; b < f.branch_count; ++b) {
      if (c.inputs[static_cast<std::size_t>(b)] != tail_of(b)) return f;
    }
  }
  if (plan.value_at(project.input()).image.channels != channels) return f;

  // What the block computes inside stays inside: no other node, and not the network's output,
  // reads it (it never reaches device memory).
  for (std::size_t i = 0; i < Plan::node_count; ++i) {
    if (inside(static_cast<int>(i))) continue;
    const node& n = plan.nodes[i];
    auto internal = [&](int v) {
      const int producer = v < 0 ? -1 : plan.value_at(v).producer;
      return producer >= 0 && inside(producer) && producer != f.project;
    };
    for (int k = 0; k < n.input_count; ++k) {
      if (internal(n.inputs[static_cast<std::size_t>(k)])) return f;
    }
    if (internal(n.residual)) return f;
  }
  const int out_producer = plan.value_at(plan.output_value).producer;
  if (inside(out_producer) && out_producer != f.project) return f;
  if (project.residual >= 0) {
    const int producer = plan.value_at(project.residual).producer;
    if (producer >= 0 && inside(producer)) return f;
  }
  // The kernel reads its input (and residual) while it writes its output: they must not share
  // memory (the plan keeps a block's inputs alive to its end, see network/compile.hpp).
  auto overlap = [&](int a, int b) {
    const int sa = plan.value_at(a).storage, sb = plan.value_at(b).storage;
    if (sa < 0 || sb < 0) return false;  // the network input has a buffer of its own
    const value& x = plan.value_at(sa);
    const value& y = plan.value_at(sb);
    return x.offset < y.offset + y.image.size() && y.offset < x.offset + x.image.size();
  };
  if (overlap(project.output, f.input)) return f;
  if (project.residual >= 0 && overlap(project.output, project.residual)) return f;
  f.valid = true;
  return f;
}

}  // namespace lmnet::cuda

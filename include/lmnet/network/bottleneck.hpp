// SPDX-License-Identifier: Apache-2.0
// The one bottleneck matcher of every backend: whether a run of a plan's nodes is a bottleneck
// (an optional 1x1 expansion, chains of depthwise layers over channel ranges of its output, a 1x1
// projection of their concatenation with the residual fused into it), and its structure. A
// backend that fuses bottlenecks adds only its own acceptance rules (kernel sizes, memory).
#pragma once

#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

#include <array>
#include <cstddef>

namespace lmnet {

/// Most parallel branches, and most stacked depthwise layers per branch, of a bottleneck.
inline constexpr int max_branches = 4;
inline constexpr int max_branch_depth = 4;

/// A chain of depthwise layers reading a channel range of the hidden tensor and writing its slot
/// of the projection's input.
struct bottleneck_branch {
  int channel_begin = 0;  // first channel of the hidden tensor it reads
  int channels = 0;
  int depth = 0;
  std::array<int, max_branch_depth> nodes{};  // its depthwise nodes, first to last
  int concat_offset = 0;                      // first channel of the projection's input it writes
};

/// A bottleneck found in a plan: node indices and values.
struct bottleneck {
  int first = 0;  // node range [first, last] it covers (a stem a backend absorbs aside)
  int last = -1;
  int input = -1;   // the one value read from outside (the projection's residual aside)
  int expand = -1;  // the 1x1 expansion, or -1 when the branches read the input
  int hidden = -1;  // the value the branches read: the expansion's output, or the input
  int branch_count = 0;
  std::array<bottleneck_branch, max_branches> branches{};
  int project = -1;  // the 1x1 projection: the last node, residual and activation fused

  constexpr bool valid() const { return project >= 0; }
  constexpr const bottleneck_branch& branch(int b) const {
    return branches[static_cast<std::size_t>(b)];
  }
  /// Whether the branches read the hidden channels side by side, in order, and the projection
  /// reads their outputs in that same order: its input channel e is then hidden channel e.
  constexpr bool in_channel_order() const {
    int next = 0;
    for (int b = 0; b < branch_count; ++b) {
      if (branch(b).channel_begin != next || branch(b).concat_offset != next) return false;
      next += branch(b).channels;
    }
    return true;
  }
};

/// The bottleneck that nodes [first, last] of `p` form, or an invalid one (`valid()` false) when
/// they form none: the nodes then run one by one.
template <class Plan>
constexpr bottleneck match_bottleneck(const Plan& p, int first, int last) {
  const bottleneck none{};
  if (last < first) return none;
  auto node_at = [&](int i) -> const node& { return p.nodes[static_cast<std::size_t>(i)]; };
  auto inside = [&](int i) { return i >= first && i <= last; };
  auto producer = [&](int v) { return v < 0 ? -1 : p.value_at(v).producer; };
  bottleneck f;
  f.first = first;
  f.last = last;
  const node& proj = node_at(last);
  if (proj.kind() != op::pointwise_conv2d || proj.elided || inside(producer(proj.residual)))
    return none;

  // The one value read from outside.
  for (int i = first; i <= last; ++i) {
    const node& n = node_at(i);
    for (int k = 0; k < n.input_count; ++k) {
      const int v = n.inputs[static_cast<std::size_t>(k)];
      if (inside(producer(v))) continue;
      if (f.input >= 0 && f.input != v) return none;
      f.input = v;
    }
  }
  if (f.input < 0) return none;

  // Every other node is the expansion, a depthwise layer, a slice or a concat, and what it
  // computes is read inside the block only.
  int depthwise_count = 0;
  f.hidden = f.input;
  for (int i = first; i < last; ++i) {
    const node& n = node_at(i);
    int reads_inside = 0;
    for (int j = first; j <= last; ++j) {
      const node& m = node_at(j);
      for (int k = 0; k < m.input_count; ++k)
        reads_inside += m.inputs[static_cast<std::size_t>(k)] == n.output ? 1 : 0;
      reads_inside += m.residual == n.output ? 1 : 0;
    }
    if (p.value_at(n.output).consumers != reads_inside || n.output == p.output_value) return none;
    if (n.kind() == op::pointwise_conv2d && i == first && n.input() == f.input && n.residual < 0 &&
        n.spec.groups == 1) {
      f.expand = i;
      f.hidden = n.output;
    } else if (n.kind() == op::depthwise_conv2d && n.residual < 0) {
      ++depthwise_count;
    } else if (n.kind() != op::channel_slice && n.kind() != op::concat) {
      return none;
    }
  }

  // Branches start at the depthwise layers that read the hidden tensor or a slice of it, and
  // grow by the depthwise layer that reads their last output.
  int chained = 0;
  for (int i = first; i < last; ++i) {
    const node& n = node_at(i);
    if (n.kind() != op::depthwise_conv2d) continue;
    int begin = -1;
    if (n.input() == f.hidden) {
      begin = 0;
    } else if (const int s = producer(n.input()); inside(s) &&
                                                  node_at(s).kind() == op::channel_slice &&
                                                  node_at(s).input() == f.hidden) {
      begin = node_at(s).spec.channel_begin;
    }
    if (begin < 0) continue;
    if (f.branch_count == max_branches) return none;
    bottleneck_branch& br = f.branches[static_cast<std::size_t>(f.branch_count++)];
    br.channel_begin = begin;
    br.channels = n.spec.input.channels;
    br.nodes[0] = i;
    br.depth = 1;
    for (bool grown = true; grown;) {
      grown = false;
      const int tail = node_at(br.nodes[static_cast<std::size_t>(br.depth - 1)]).output;
      for (int j = first; j < last; ++j) {
        if (node_at(j).kind() != op::depthwise_conv2d || node_at(j).input() != tail) continue;
        if (br.depth == max_branch_depth) return none;
        br.nodes[static_cast<std::size_t>(br.depth++)] = j;
        grown = true;
        break;
      }
    }
    chained += br.depth;
  }
  if (f.branch_count == 0 || chained != depthwise_count) return none;

  // The projection reads the one branch's output, or the concat of every branch's output.
  auto tail_of = [&](int b) {
    const bottleneck_branch& br = f.branch(b);
    return node_at(br.nodes[static_cast<std::size_t>(br.depth - 1)]).output;
  };
  f.project = last;
  if (f.branch_count == 1 && proj.input() == tail_of(0)) return f;
  const int c = producer(proj.input());
  if (!inside(c) || node_at(c).kind() != op::concat) return none;
  const node& cat = node_at(c);
  if (cat.input_count != f.branch_count) return none;
  int offset = 0;
  unsigned placed = 0;  // one bit per branch
  for (int k = 0; k < cat.input_count; ++k) {
    const int v = cat.inputs[static_cast<std::size_t>(k)];
    int owner = -1;
    for (int b = 0; b < f.branch_count; ++b) owner = tail_of(b) == v ? b : owner;
    if (owner < 0 || (placed >> owner & 1u) != 0) return none;
    placed |= 1u << owner;
    f.branches[static_cast<std::size_t>(owner)].concat_offset = offset;
    offset += p.value_at(v).image.channels;
  }
  return f;
}

/// The same for a block the description recorded (a `Block` such as inverted_residual).
template <class Plan>
constexpr bottleneck match_bottleneck(const Plan& p, const block_record& b) {
  return match_bottleneck(p, b.first, b.last);
}

/// The largest bottleneck that ends at node `last` and starts at node `first_allowed` or later,
/// whoever described it (a block type, or layers composed by hand); invalid when there is none.
template <class Plan>
constexpr bottleneck find_bottleneck(const Plan& p, int last, int first_allowed = 0) {
  auto node_at = [&](int i) -> const node& { return p.nodes[static_cast<std::size_t>(i)]; };
  auto producer = [&](int v) { return v < 0 ? -1 : p.value_at(v).producer; };
  const node& proj = node_at(last);
  if (proj.kind() != op::pointwise_conv2d || proj.elided) return {};
  // Where it could start: walking back from the projection through a concat, chains of depthwise
  // layers and slices, to the earliest of them, and to the expansion before them.
  int earliest = last, expand = -1;
  auto walk = [&](int v) {
    int n = producer(v);
    for (int depth = 0; n >= 0 && depth <= max_branch_depth; ++depth) {
      const op kind = node_at(n).kind();
      if (kind != op::depthwise_conv2d && kind != op::channel_slice) break;
      earliest = n < earliest ? n : earliest;
      n = producer(node_at(n).input());
    }
    if (n >= 0 && node_at(n).kind() == op::pointwise_conv2d) expand = n;
  };
  const int c = producer(proj.input());
  if (c >= 0 && node_at(c).kind() == op::concat) {
    for (int k = 0; k < node_at(c).input_count; ++k)
      walk(node_at(c).inputs[static_cast<std::size_t>(k)]);
  } else {
    walk(proj.input());
  }
  for (const int first : {expand, earliest}) {
    if (first < first_allowed || first >= last) continue;
    const bottleneck b = match_bottleneck(p, first, last);
    if (b.valid()) return b;
  }
  return {};
}

/// Calls f(bottleneck) for every bottleneck of `p`, in node order: wherever find_bottleneck finds
/// one among the nodes after the previous one, so that no two share a node.
template <class Plan, class F>
constexpr void for_each_bottleneck(const Plan& p, F&& f) {
  int free_from = 0;
  for (int last = 0; last < static_cast<int>(p.nodes.size()); ++last) {
    const bottleneck b = find_bottleneck(p, last, free_from);
    if (!b.valid()) continue;
    free_from = last + 1;
    f(b);
  }
}

}  // namespace lmnet

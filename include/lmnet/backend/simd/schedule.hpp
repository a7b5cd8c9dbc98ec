// SPDX-License-Identifier: Apache-2.0
// What the simd backend runs for a plan, decided at compile time: the steps (single layers, and
// whole bottleneck blocks fused tile by tile), where each layer's packed weights live, the
// activation arena of the tensors that still exist once blocks are fused, and the scratch each
// thread needs.
#pragma once

#include <lmnet/backend/simd/conv2d.hpp>
#include <lmnet/backend/simd/dense.hpp>
#include <lmnet/backend/simd/fused_block.hpp>
#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/backend/simd/shuffle_folding.hpp>
#include <lmnet/backend/simd/step.hpp>
#include <lmnet/network/arena.hpp>
#include <lmnet/network/plan.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <limits>
#include <vector>

namespace lmnet::simd {

/// The schedule of a plan of N nodes and V values, with F fused blocks.
template <std::size_t N, std::size_t V, std::size_t F>
struct schedule {
  std::array<step, 2 * N> steps{};
  int step_count = 0;
  std::array<fused_block, F> blocks{};
  int block_count = 0;
  std::array<packing, N> packs{};
  std::size_t weight_floats = 0;
  std::array<std::size_t, V> offsets{};  // per-image arena offset of every materialised owner
  std::size_t arena_floats = 0;          // per image
  std::size_t scratch_floats = 0;        // per thread
  int width = 1;
};

namespace detail {

template <class Plan>
constexpr bool parallel_worth(const Plan& p, const step& s) {
  const node& n = node_at(p, s.node);
  const std::size_t work = n.spec.macs() + n.spec.output.size();
  return work >= parallel_threshold;
}

// Scratch a layer's kernel needs per thread.
constexpr std::size_t layer_scratch_floats(const layer_spec& s) {
  if (s.kind == op::conv2d) return conv2d_scratch_floats(s);
  if (s.kind == op::dense) return dense_scratch_floats(s);
  return 0;
}

// The arena of the tensors the steps read and write (the others live inside fused blocks): each
// owner alive from the first step that writes it to the last that reads it.
template <std::size_t N, std::size_t V, std::size_t B, std::size_t F>
constexpr void place_arena(const plan<N, V, B>& p, schedule<N, V, F>& s) {
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
      touch(st.write >= 0 ? st.write : f.output, k, true);
    } else if (st.kind == step_kind::strided_copy) {
      touch(st.source, k, false);
      touch(st.write, k, true);
    } else {
      for (int j = 0; j < n.input_count; ++j)
        touch(n.inputs[static_cast<std::size_t>(j)], k, false);
      touch(st.write >= 0 ? st.write : n.output, k, true);
    }
    if (n.residual >= 0) touch(n.residual, k, false);
  }
  if (p.value_at(p.output_value).storage >= 0) {
    last[static_cast<std::size_t>(p.value_at(p.output_value).storage)] = forever;
  }
  std::vector<int> owners;
  std::vector<tensor_lifetime> lifetimes;
  for (std::size_t v = 0; v < V; ++v) {
    if (first[v] == forever) continue;
    owners.push_back(static_cast<int>(v));
    lifetimes.push_back({p.values[v].image.size(), first[v], last[v]});
  }
  std::vector<std::size_t> offsets(owners.size());
  s.arena_floats = place_tensors(lifetimes, offsets);
  for (std::size_t k = 0; k < owners.size(); ++k) {
    s.offsets[static_cast<std::size_t>(owners[k])] = offsets[k];
  }
}

}  // namespace detail

/// How many fused blocks the schedule of `p` has for registers of `width` floats.
template <class Plan>
constexpr std::size_t fused_block_count(const Plan& p, int width) {
  std::size_t count = 0;
  detail::for_each_fused_block(p, width, [&](const fused_block&) { ++count; });
  return count;
}

/// The schedule of `p` for registers of `Width` floats and a file of `Registers` of them, with
/// its `F = fused_block_count(p, Width)` fused blocks (without `fuse_blocks`, none and F = 0).
template <int Width, int Registers, std::size_t F, std::size_t N, std::size_t V, std::size_t B>
constexpr schedule<N, V, F> make_schedule(const plan<N, V, B>& p, bool fuse_blocks = true) {
  using detail::node_at;
  schedule<N, V, F> s;
  s.width = Width;

  // Packed weights.
  std::size_t cursor = 0;
  for (std::size_t i = 0; i < N; ++i) {
    s.packs[i] = packing_for(p.nodes[i].spec, Width, Registers);
    s.packs[i].offset = cursor;
    cursor += s.packs[i].floats;
  }
  s.weight_floats = cursor;

  // Steps: bottlenecks fused wherever their structure is, single layers elsewhere.
  std::vector<int> block_of(N, -1);
  detail::for_each_fused_block(p, Width, [&](fused_block& f) {
    if (!fuse_blocks) return;
    detail::allow_channel_split(p, s.packs, f, Width);
    s.blocks[static_cast<std::size_t>(s.block_count)] = f;
    for (int i = f.first; i <= f.project; ++i)
      block_of[static_cast<std::size_t>(i)] = s.block_count;
    if (f.expand_is_conv) block_of[static_cast<std::size_t>(f.expand)] = s.block_count;
    ++s.block_count;
  });
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
      continue;  // a view: slices, and concats whose inputs were written in place
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
    const std::size_t need = st.kind == step_kind::fused_block
                                 ? s.blocks[static_cast<std::size_t>(st.block)].scratch_floats
                             : st.kind == step_kind::layer
                                 ? detail::layer_scratch_floats(node_at(p, st.node).spec)
                                 : 0;
    s.scratch_floats = std::max(s.scratch_floats, round_up_16(need));
  }
  detail::place_arena(p, s);
  return s;
}

}  // namespace lmnet::simd

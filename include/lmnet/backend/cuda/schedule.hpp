// SPDX-License-Identifier: Apache-2.0
// From a compiled plan to the list of kernel launches that runs it for one batch size: which
// kernel runs each node (or each fused block), with which tiles, on which memory. Plain C++: the
// engine launches the list on the GPU, the tests run the same list through the host emulator.
#pragma once

#include <lmnet/backend/cuda/fusion.hpp>
#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/kernels.hpp>
#include <lmnet/backend/cuda/kernels/fused_block.hpp>
#include <lmnet/backend/cuda/packing.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/network/bottleneck.hpp>
#include <lmnet/network/node.hpp>

#include <algorithm>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace lmnet::cuda {

/// One kernel launch: a body, its parameters and its grid, and the plan nodes it computes.
template <class Body>
struct launch {
  using body = Body;
  typename Body::params params{};
  launch_shape shape{};
  int first_node = 0, last_node = 0;
};

/// Every kernel the backend launches.
using step = std::variant<
    launch<gemm<gemm_large, true>>, launch<gemm<gemm_large, false>>,
    launch<gemm<gemm_narrow, true>>, launch<gemm<gemm_narrow, false>>,
    launch<gemm<gemm_small, true>>, launch<gemm<gemm_small, false>>, launch<depthwise<3, 1, true>>,
    launch<depthwise<3, 1, false>>, launch<depthwise<3, 2, true>>, launch<depthwise<3, 2, false>>,
    launch<depthwise<5, 1, true>>, launch<depthwise<5, 1, false>>, launch<depthwise<5, 2, true>>,
    launch<depthwise<5, 2, false>>, launch<depthwise<0, 0, true>>, launch<depthwise<0, 0, false>>,
    launch<conv2d_direct<true>>, launch<conv2d_direct<false>>, launch<dense_gemv<true>>,
    launch<dense_gemv<false>>, launch<window_max>, launch<spatial_mean>, launch<channel_softmax>,
    launch<elementwise>, launch<fused_block<1>>, launch<fused_block<2>>, launch<fused_block<4>>>;

/// The device memory a schedule refers to.
struct schedule_memory {
  float* arena = nullptr;          // plan.arena_floats * batch
  const float* input = nullptr;    // the network input
  const float* weights = nullptr;  // packed (packing.hpp)
  float* partial = nullptr;        // split fused blocks' partial sums
  std::size_t partial_floats = 0;
  unsigned* counters = nullptr;  // split fused blocks' arrival counters, zero
  std::size_t counter_count = 0;
};

struct schedule_options {
  bool fuse_blocks = true;  // fused kernels for the bottlenecks that fit
  int max_splits = 16;      // most blocks sharing one fused tile
};

/// A schedule, and the scratch memory it needs (more than `schedule_memory` gave means: grow the
/// scratch and build again).
struct schedule {
  std::vector<step> steps;
  std::size_t partial_floats = 0;
  std::size_t counter_count = 0;

  bool fits(const schedule_memory& m) const {
    return partial_floats <= m.partial_floats && counter_count <= m.counter_count;
  }
};

/// A fused block's tiling and its accumulator count (0: nothing fits).
struct fused_choice {
  fused_tiling tiling{};
  int accumulators = 0;
  double cost = 0.0;  // modelled cycles
};

namespace detail {

// Modelled cost of one fused launch, in cycles: a block's multiply-adds at 64 per cycle (an SM
// runs 128 when two blocks share it), plus a fixed latency per barrier-separated phase; blocks
// are spread over the SMs in waves of as many as fit in shared memory.
inline double fused_cost(const fused_block_params& p, const device_limits& limits) {
  const fused_layout l = fused_layout_of(p);
  const double chunk_channels = static_cast<double>(p.expanded) / p.groups;
  double macs = 0.0;
  const span1 rows{0, p.tiling.tile_height}, cols{0, p.tiling.tile_width};
  for (int b = 0; b < p.branch_count; ++b) {
    const fused_branch& br = p.branches[b];
    const double share = static_cast<double>(br.end - br.begin) / p.groups;
    const double level0 =
        static_cast<double>(branch_level(br, 0, rows).size) * branch_level(br, 0, cols).size;
    if (p.expand_weights != nullptr) macs += level0 * p.in.channels * share;
    for (int d = 0; d < br.depth; ++d) {
      macs += static_cast<double>(branch_level(br, d + 1, rows).size) *
              branch_level(br, d + 1, cols).size * br.stages[d].kernel * br.stages[d].kernel *
              share;
    }
  }
  macs += static_cast<double>(l.tile_pixels_padded) * chunk_channels * l.outputs_stride;
  const double chunks = chunk_channels / p.tiling.chunk + p.branch_count - 1;
  const int splits = p.tiling.splits;
  const double phase_cycles = 400.0;
  double block = macs / splits / 64.0 + (chunks / splits) * (3.0 + 1.5) * phase_cycles +
                 static_cast<double>(l.union_rows.size) * l.union_cols.size * p.in.channels / 64.0;
  if (splits > 1) block += 3.0 * phase_cycles + l.tile_pixels * (l.outputs * splits / 64.0);
  const std::size_t bytes = l.total * sizeof(float);
  const long long resident =
      std::min<long long>(8, static_cast<long long>(limits.shared_bytes_per_block + 1024) /
                                 static_cast<long long>(bytes + 1024));
  const long long blocks = static_cast<long long>(fused_tiles(p)) * p.groups * splits;
  const long long per_sm = (blocks + limits.multiprocessors - 1) / limits.multiprocessors;
  // Full rounds of `resident` blocks, then the rest; two or more blocks share the SM's throughput.
  auto round = [&](long long together) {
    return together == 0 ? 0.0
                         : block * static_cast<double>(together) / (together >= 2 ? 2.0 : 1.0);
  };
  return static_cast<double>(per_sm / resident) * round(resident) + round(per_sm % resident);
}

}  // namespace detail

/// The cheapest tiling (by `detail::fused_cost`) whose shared memory fits the device and whose
/// accumulators fit 4 per thread. `p` holds the block's layers and views; its tiling is ignored.
inline fused_choice choose_fused_tiling(fused_block_params p, const device_limits& limits,
                                        int max_splits) {
  constexpr int sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 28, 32, 56};
  constexpr int chunks[] = {8, 16, 32, 64};
  fused_choice best{};
  int widest = 0;
  for (int b = 0; b < p.branch_count; ++b) {
    widest = max_of(widest, p.branches[b].end - p.branches[b].begin);
  }
  auto consider = [&](int h, int w, int chunk) {
    p.tiling = {h, w, chunk, 1};
    const fused_layout l = fused_layout_of(p);
    if (l.total * sizeof(float) > limits.shared_bytes_per_block) return;
    const int micro = fused_micro_tiles(p);
    const int accumulators = micro <= 256 ? 1 : micro <= 512 ? 2 : micro <= 1024 ? 4 : 0;
    if (accumulators == 0) return;
    const long long blocks = static_cast<long long>(fused_tiles(p)) * p.groups;
    int splits_limit = 1;
    for (int g = 0; g < p.groups; ++g) splits_limit = max_of(splits_limit, chunk_count(p, g));
    splits_limit = min_of(splits_limit, max_splits);
    for (int splits = 1; splits <= splits_limit; splits *= 2) {
      if (splits > 1 && blocks * splits > 2LL * limits.multiprocessors) break;
      p.tiling.splits = splits;
      const double cost = detail::fused_cost(p, limits);
      if (best.accumulators == 0 || cost < best.cost) best = {p.tiling, accumulators, cost};
    }
  };
  for (int h : sizes) {
    if (h > p.out.height && h != sizes[0]) break;
    for (int w : sizes) {
      if (w > p.out.width && w != sizes[0]) break;
      for (int chunk : chunks) {
        if (chunk > round_up(widest, 4) && chunk != chunks[0]) break;
        consider(h, w, chunk);
      }
    }
  }
  return best;
}

namespace detail {

/// Builds the launches of one plan and batch size: fused blocks here, every other node through
/// its kernel (`kernel<backend::cuda, op>::schedule(builder, node)`, kernels/<layer>.hpp), which
/// reads the node and appends its launches with the public members.
template <class Plan>
class schedule_builder {
 public:
  schedule_builder(const Plan& plan, int batch, const schedule_memory& memory,
                   const device_limits& limits, const schedule_options& options)
      : plan_(plan), batch_(batch), memory_(memory), limits_(limits), options_(options) {}

  schedule build() && {
    // The bottleneck starting at each node, if any.
    std::vector<bottleneck> starting(Plan::node_count);
    if (options_.fuse_blocks) {
      for_each_bottleneck(
          plan_, [&](const bottleneck& b) { starting[static_cast<std::size_t>(b.first)] = b; });
    }
    std::size_t i = 0;
    while (i < Plan::node_count) {
      if (fuse(starting[i])) {
        i = static_cast<std::size_t>(starting[i].last) + 1;
        continue;
      }
      single(static_cast<int>(i));
      ++i;
    }
    return std::move(schedule_);
  }

  const node& at(int i) const { return plan_.nodes[static_cast<std::size_t>(i)]; }
  int batch() const { return batch_; }
  const device_limits& limits() const { return limits_; }

  /// Value `v` for the batch, as a kernel reads it (inputs, residuals) and as it writes it.
  tensor_view<const float> input_view(int v) const {
    return plan_.view(v, static_cast<const float*>(memory_.arena), memory_.input, batch_);
  }
  tensor_view<float> output_view(int v) const {
    return plan_.view(v, memory_.arena, memory_.input, batch_);
  }

  /// Node `i`'s packed weights and bias (packing.hpp), and a dense layer's (O, F) rows.
  const float* weights(int i) const {
    return memory_.weights + layout_[static_cast<std::size_t>(i)].weights;
  }
  const float* bias(int i) const {
    return memory_.weights + layout_[static_cast<std::size_t>(i)].bias;
  }
  const float* rows(int i) const {
    return memory_.weights + layout_[static_cast<std::size_t>(i)].rows;
  }

  /// Appends a launch of body `Body` computing nodes [first, last]. The body comes as a value so
  /// that callers name it without `template`: `b.add(window_max{}, p, i, i)`.
  template <class Body>
  void add(Body, const typename Body::params& p, int first, int last) {
    schedule_.steps.push_back(launch<Body>{p, Body::shape(p), first, last});
  }

 private:
  bool fuse(const bottleneck& f) {
    if (!fusable(plan_, f)) return false;
    fused_block_params p{};
    const node& project = at(f.project);
    p.in = input_view(f.input);
    p.out = output_view(project.output);
    if (project.residual >= 0) p.residual = input_view(project.residual);
    if (f.expand >= 0) {
      const node& e = at(f.expand);
      p.expand_weights = weights(f.expand);
      p.expand_bias = bias(f.expand);
      p.expand_act = e.spec.act;
      p.expanded = e.spec.output.channels;
    } else {
      p.expanded = p.in.channels;
    }
    p.branch_count = f.branch_count;
    for (int b = 0; b < f.branch_count; ++b) {
      const bottleneck_branch& fb = f.branch(b);
      fused_branch& br = p.branches[b];
      br.begin = fb.channel_begin, br.end = fb.channel_begin + fb.channels, br.depth = fb.depth;
      for (int d = 0; d < fb.depth; ++d) {
        const int i = fb.nodes[static_cast<std::size_t>(d)];
        const node& n = at(i);
        br.stages[d] = {weights(i),
                        bias(i),
                        n.spec.kernel.height,
                        n.spec.stride.height,
                        n.spec.padding.height,
                        n.spec.output.height,
                        n.spec.output.width,
                        n.spec.act};
      }
    }
    p.project_weights = weights(f.project);
    p.project_bias = bias(f.project);
    p.groups = project.spec.groups;
    p.project_act = project.spec.act;
    const fused_choice choice = choose_fused_tiling(p, limits_, options_.max_splits);
    if (choice.accumulators == 0) return false;
    p.tiling = choice.tiling;
    if (p.tiling.splits > 1) {
      const std::size_t partial = static_cast<std::size_t>(p.tiling.splits) * p.out.batch *
                                  p.out.height * p.out.width * p.out.channels;
      const std::size_t counters = static_cast<std::size_t>(fused_tiles(p)) * p.groups;
      schedule_.partial_floats = std::max(schedule_.partial_floats, partial);
      schedule_.counter_count = std::max(schedule_.counter_count, counters);
    }
    p.partial = memory_.partial;
    p.counters = memory_.counters;
    if (choice.accumulators == 1) {
      add(fused_block<1>{}, p, f.first, f.last);
    } else if (choice.accumulators == 2) {
      add(fused_block<2>{}, p, f.first, f.last);
    } else {
      add(fused_block<4>{}, p, f.first, f.last);
    }
    return true;
  }

  // Elided nodes are views (slices, concats written in place) and compute nothing.
  void single(int i) {
    if (at(i).elided) return;
    with_kernel<backend::cuda>(at(i).kind(), [&](auto k) { decltype(k)::schedule(*this, i); });
  }

  const Plan& plan_;
  int batch_;
  schedule_memory memory_;
  device_limits limits_;
  schedule_options options_;
  packed_layout<Plan::node_count> layout_ = packed_layout_of(plan_);
  schedule schedule_;
};

}  // namespace detail

/// The launches that run `plan` on `batch` images.
template <class Plan>
schedule build_schedule(const Plan& plan, int batch, const schedule_memory& memory,
                        const device_limits& limits, const schedule_options& options = {}) {
  return detail::schedule_builder<Plan>(plan, batch, memory, limits, options).build();
}

/// The first and last plan node a launch computes.
inline std::pair<int, int> step_nodes(const step& st) {
  return std::visit(
      [](const auto& l) {
        return std::pair<int, int>{l.first_node, l.last_node};
      },
      st);
}

/// Whether a launch is a fused block.
inline bool is_fused(const step& st) {
  return std::visit(
      [](const auto& l) {
        using body = typename std::decay_t<decltype(l)>::body;
        return requires {
          body::accumulators;
        };
      },
      st);
}

}  // namespace lmnet::cuda

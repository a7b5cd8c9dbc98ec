// SPDX-License-Identifier: Apache-2.0
// From a compiled plan to the list of kernel launches that runs it for one batch size: which
// kernel runs each node (or each fused block), with which tiles, on which memory. Plain C++: the
// engine launches the list on the GPU, the tests run the same list through the host emulator.
#pragma once

#include <lmnet/backend/cuda/fusion.hpp>
#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/kernels/conv2d.hpp>
#include <lmnet/backend/cuda/kernels/dense.hpp>
#include <lmnet/backend/cuda/kernels/depthwise.hpp>
#include <lmnet/backend/cuda/kernels/elementwise.hpp>
#include <lmnet/backend/cuda/kernels/fused_block.hpp>
#include <lmnet/backend/cuda/kernels/gemm.hpp>
#include <lmnet/backend/cuda/kernels/pooling.hpp>
#include <lmnet/backend/cuda/kernels/softmax.hpp>
#include <lmnet/backend/cuda/packing.hpp>
#include <lmnet/core/error.hpp>

#include <algorithm>
#include <array>
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

/// The tile for an unfused 1x1 layer or dense layer of m rows and n columns per group.
constexpr gemm_tile choose_gemm_tile(int m, int n, int groups, const device_limits& limits) {
  const long long narrow =
      static_cast<long long>(ceil_div(m, gemm_narrow.bm)) * ceil_div(n, gemm_narrow.bn) * groups;
  const long long large =
      static_cast<long long>(ceil_div(m, gemm_large.bm)) * ceil_div(n, gemm_large.bn) * groups;
  if (n <= gemm_narrow.bn) return narrow >= limits.multiprocessors ? gemm_narrow : gemm_small;
  return large >= limits.multiprocessors ? gemm_large : gemm_small;
}

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

template <class Plan>
class schedule_builder {
 public:
  schedule_builder(const Plan& plan, int batch, const schedule_memory& memory,
                   const device_limits& limits, const schedule_options& options)
      : plan_(plan), batch_(batch), memory_(memory), limits_(limits), options_(options) {}

  schedule build() {
    schedule s;
    std::size_t i = 0;
    while (i < Plan::node_count) {
      const int block = plan_.nodes[i].block;
      if (options_.fuse_blocks && block >= 0 && starts_block(static_cast<int>(i), block) &&
          fuse(s, plan_.blocks[static_cast<std::size_t>(block)])) {
        i = static_cast<std::size_t>(plan_.blocks[static_cast<std::size_t>(block)].last) + 1;
        continue;
      }
      single(s, static_cast<int>(i));
      ++i;
    }
    return s;
  }

 private:
  // Innermost blocks are the ones recorded in nodes; a block starts where its range starts.
  bool starts_block(int i, int block) const {
    return plan_.blocks[static_cast<std::size_t>(block)].first == i;
  }

  template <class T>
  tensor_view<T> view(int v) const {
    if constexpr (std::is_const_v<T>) {
      return plan_.view(v, static_cast<const float*>(memory_.arena), memory_.input, batch_);
    } else {
      return plan_.view(v, memory_.arena, memory_.input, batch_);
    }
  }
  const float* weights(int node) const {
    return memory_.weights + layout_[static_cast<std::size_t>(node)].weights;
  }
  const float* bias(int node) const {
    return memory_.weights + layout_[static_cast<std::size_t>(node)].bias;
  }
  const float* rows(int node) const {
    return memory_.weights + layout_[static_cast<std::size_t>(node)].rows;
  }
  const node& at(int i) const { return plan_.nodes[static_cast<std::size_t>(i)]; }

  template <class Body>
  static void add(schedule& s, const typename Body::params& p, int first, int last) {
    s.steps.push_back(launch<Body>{p, Body::shape(p), first, last});
  }

  bool fuse(schedule& s, const block_record& block) {
    const bottleneck f = fused_bottleneck(plan_, block);
    if (!f.valid()) return false;
    fused_block_params p{};
    const node& project = at(f.project);
    p.in = view<const float>(f.input);
    p.out = view<float>(project.output);
    if (project.residual >= 0) p.residual = view<const float>(project.residual);
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
      s.partial_floats = std::max(s.partial_floats, partial);
      s.counter_count = std::max(s.counter_count, counters);
    }
    p.partial = memory_.partial;
    p.counters = memory_.counters;
    switch (choice.accumulators) {
      case 1:
        add<fused_block<1>>(s, p, f.first, f.last);
        break;
      case 2:
        add<fused_block<2>>(s, p, f.first, f.last);
        break;
      default:
        add<fused_block<4>>(s, p, f.first, f.last);
        break;
    }
    return true;
  }

  void single(schedule& s, int i) {
    const node& n = at(i);
    if (n.elided) return;
    switch (n.kind()) {
      case op::pointwise_conv2d:
        return pointwise(s, i);
      case op::depthwise_conv2d:
        return depthwise_layer(s, i);
      case op::conv2d:
        return convolution(s, i);
      case op::dense:
        return dense_layer(s, i);
      case op::max_pool2d: {
        const pool_params p{view<const float>(n.input()), view<float>(n.output), n.spec.kernel,
                            n.spec.stride, n.spec.padding};
        return add<window_max>(s, p, i, i);
      }
      case op::global_avg_pool: {
        const pool_params p{view<const float>(n.input()), view<float>(n.output)};
        return add<spatial_mean>(s, p, i, i);
      }
      case op::softmax:
        return add<channel_softmax>(s, {view<const float>(n.input()), view<float>(n.output)}, i, i);
      case op::activation: {
        elementwise_params p{};
        p.a = view<const float>(n.input());
        p.out = view<float>(n.output);
        p.act = n.spec.act;
        return add<elementwise>(s, p, i, i);
      }
      case op::add: {
        elementwise_params p{};
        p.kind = elementwise_op::add;
        p.a = view<const float>(n.inputs[0]);
        p.b = view<const float>(n.inputs[1]);
        p.out = view<float>(n.output);
        p.act = n.spec.act;
        return add<elementwise>(s, p, i, i);
      }
      case op::channel_shuffle: {
        elementwise_params p{};
        p.kind = elementwise_op::shuffle;
        p.a = view<const float>(n.input());
        p.out = view<float>(n.output);
        p.groups = n.spec.groups;
        return add<elementwise>(s, p, i, i);
      }
      case op::concat: {
        // Copy the inputs that were not written in place.
        const tensor_view<float> out = view<float>(n.output);
        int begin = 0;
        for (int k = 0; k < n.input_count; ++k) {
          const tensor_view<const float> in =
              view<const float>(n.inputs[static_cast<std::size_t>(k)]);
          if (in.data != out.data + begin) {
            elementwise_params p{};
            p.a = in;
            p.out = {out.data + begin, out.batch,   out.height,
                     out.width,        in.channels, out.channel_stride};
            add<elementwise>(s, p, i, i);
          }
          begin += in.channels;
        }
        return;
      }
      case op::channel_slice:
      case op::batch_norm:
        return;  // views, and folded away
    }
  }

  void pointwise(schedule& s, int i) {
    const node& n = at(i);
    const tensor_view<const float> in = view<const float>(n.input());
    const tensor_view<float> out = view<float>(n.output);
    gemm_params p{};
    p.a = in.data;
    p.a_stride = in.channel_stride;
    p.b = weights(i);
    p.bias = bias(i);
    p.c = out.data;
    p.c_stride = out.channel_stride;
    if (n.residual >= 0) {
      const tensor_view<const float> r = view<const float>(n.residual);
      p.residual = r.data;
      p.residual_stride = r.channel_stride;
    }
    p.m = out.batch * out.height * out.width;
    p.groups = n.spec.groups;
    p.n = out.channels / p.groups;
    p.k = in.channels / p.groups;
    p.act = n.spec.act;
    const bool vector = aligned16(in.data) && in.channel_stride % 4 == 0 && p.k % 4 == 0;
    add_gemm(s, p, vector, i);
  }

  void add_gemm(schedule& s, const gemm_params& p, bool vector, int i) {
    const gemm_tile tile = choose_gemm_tile(p.m, p.n, p.groups, limits_);
    if (tile == gemm_large) {
      vector ? add<gemm<gemm_large, true>>(s, p, i, i) : add<gemm<gemm_large, false>>(s, p, i, i);
    } else if (tile == gemm_narrow) {
      vector ? add<gemm<gemm_narrow, true>>(s, p, i, i) : add<gemm<gemm_narrow, false>>(s, p, i, i);
    } else {
      vector ? add<gemm<gemm_small, true>>(s, p, i, i) : add<gemm<gemm_small, false>>(s, p, i, i);
    }
  }

  void depthwise_layer(schedule& s, int i) {
    const node& n = at(i);
    depthwise_params p{};
    p.in = view<const float>(n.input());
    p.out = view<float>(n.output);
    if (n.residual >= 0) p.residual = view<const float>(n.residual);
    p.weights = weights(i);
    p.bias = bias(i);
    p.kernel = n.spec.kernel.height;
    p.stride = n.spec.stride.height;
    p.padding = n.spec.padding.height;
    p.act = n.spec.act;
    const bool vector = vectorizable(p.in) && vectorizable(p.out) && vectorizable(p.residual) &&
                        aligned16(p.weights) && aligned16(p.bias);
    // Depthwise layers have square windows (layers/depthwise_conv2d.hpp).
    const int k = p.kernel, stride = p.stride;
    auto pick = [&]<int K, int S>() {
      vector ? add<depthwise<K, S, true>>(s, p, i, i) : add<depthwise<K, S, false>>(s, p, i, i);
    };
    if (k == 3 && stride == 1) return pick.template operator()<3, 1>();
    if (k == 3 && stride == 2) return pick.template operator()<3, 2>();
    if (k == 5 && stride == 1) return pick.template operator()<5, 1>();
    if (k == 5 && stride == 2) return pick.template operator()<5, 2>();
    pick.template operator()<0, 0>();
  }

  void convolution(schedule& s, int i) {
    const node& n = at(i);
    conv2d_params p{};
    p.in = view<const float>(n.input());
    p.out = view<float>(n.output);
    if (n.residual >= 0) p.residual = view<const float>(n.residual);
    p.weights = weights(i);
    p.bias = bias(i);
    p.kernel = n.spec.kernel;
    p.stride = n.spec.stride;
    p.padding = n.spec.padding;
    p.groups = n.spec.groups;
    p.act = n.spec.act;
    const int per_group = p.out.channels / p.groups;
    const bool vector = per_group % 4 == 0 && vectorizable(p.out) && vectorizable(p.residual) &&
                        aligned16(p.weights) && aligned16(p.bias);
    vector ? add<conv2d_direct<true>>(s, p, i, i) : add<conv2d_direct<false>>(s, p, i, i);
  }

  void dense_layer(schedule& s, int i) {
    const node& n = at(i);
    const tensor_view<const float> in = view<const float>(n.input());
    const tensor_view<float> out = view<float>(n.output);
    const int features = in.height * in.width * in.channels;
    const bool contiguous = in.dense() && aligned16(in.data) && features % 4 == 0;
    if (batch_ > dense_gemv<true>::images && in.dense()) {
      gemm_params p{};
      p.a = in.data;
      p.a_stride = features;
      p.b = weights(i);
      p.bias = bias(i);
      p.c = out.data;
      p.c_stride = out.channel_stride;
      p.m = in.batch;
      p.n = out.channels;
      p.k = features;
      p.act = n.spec.act;
      return add_gemm(s, p, contiguous, i);
    }
    const dense_params p{in, out, rows(i), bias(i), n.spec.act};
    contiguous ? add<dense_gemv<true>>(s, p, i, i) : add<dense_gemv<false>>(s, p, i, i);
  }

  const Plan& plan_;
  int batch_;
  schedule_memory memory_;
  device_limits limits_;
  schedule_options options_;
  packed_layout<Plan::node_count> layout_ = packed_layout_of(plan_);
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

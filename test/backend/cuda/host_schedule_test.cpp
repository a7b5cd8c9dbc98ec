// SPDX-License-Identifier: Apache-2.0
// The CUDA backend's host-side decisions: window and tile arithmetic, weight packing, which blocks
// fuse, the tiles and shared memory of fused blocks on several GPUs, and which kernel each layer
// gets.
#include "cuda_host_support.hpp"

#include <lmnet/backend/cuda/fusion.hpp>
#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/packing.hpp>
#include <lmnet/backend/cuda/schedule.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

using namespace lmnet;
using namespace lmnet::cuda;

namespace {

inline constexpr auto mobilenet_v2 = models::mobilenet_v2();
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto l_mobilenet = models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto shufflenet_v2_cifar =
    models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto l_mobilenet_rgb = models::l_mobilenet();
inline constexpr auto shufflenet_v2 = models::shufflenet_v2();
inline constexpr auto plain_cnn = models::plain_cnn();
inline constexpr auto resnet8 = models::resnet_cifar();
inline constexpr auto resnet20 = models::resnet_cifar({.blocks_per_stage = 3});

template <class Plan>
int fusable_blocks(const Plan& plan) {
  int count = 0;
  for_each_bottleneck(plan, [&](const bottleneck& b) { count += fusable(plan, b) ? 1 : 0; });
  return count;
}

// A schedule over fake addresses: only the decisions matter here.
template <class Plan>
schedule schedule_of(const Plan& plan, int batch, const device_limits& limits,
                     schedule_options options = {}) {
  static std::vector<float> memory(16);
  const schedule_memory m{memory.data(),        memory.data(),
                          memory.data(),        memory.data(),
                          std::size_t{1} << 40, reinterpret_cast<unsigned*>(memory.data()),
                          std::size_t{1} << 40};
  return build_schedule(plan, batch, m, limits, options);
}

template <class Body>
int count_of(const schedule& s) {
  int n = 0;
  for (const step& st : s.steps) n += std::holds_alternative<launch<Body>>(st) ? 1 : 0;
  return n;
}

inline constexpr device_limits gpus[] = {
    {40, 64 * 1024, 48 * 1024},  // Turing (sm_75)
    {108, 166912, 48 * 1024},    // A100 (sm_80)
    {84, 101376, 48 * 1024},     // Ampere / Ada consumer (sm_86, sm_89)
    {132, 232448, 48 * 1024},    // H100 SXM (sm_90)
};

}  // namespace

TEST_CASE("cuda geometry: windows, unions, grids") {
  CHECK(ceil_div(10, 4) == 3);
  CHECK(ceil_div(8, 4) == 2);
  CHECK(round_up(5, 4) == 8);
  // Outputs 0..3 of a 3x3 stride-1 pad-1 window read rows -1..4.
  CHECK(window_input({0, 4}, 3, 1, 1) == span1{-1, 6});
  // Outputs 2..4 of a 3x3 stride-2 pad-1 window read rows 3..9.
  CHECK(window_input({2, 3}, 3, 2, 1) == span1{3, 7});
  // Two stacked 3x3 windows: 5x5 reach.
  CHECK(window_input(window_input({0, 1}, 3, 1, 1), 3, 1, 1) == span1{-2, 5});
  CHECK(span_union({-1, 6}, {-2, 8}) == span1{-2, 8});
  CHECK(span_union({0, 2}, {5, 2}) == span1{0, 7});
  CHECK(grid_for(0, 256).x == 1);
  CHECK(grid_for(257, 256).x == 2);
  CHECK(grid_for(3LL * 256 * 70000, 256).x == 210000);
}

TEST_CASE("cuda packing: every layout against the canonical one") {
  static constexpr auto net =
      network{input{4, 5, 6}, conv2d{.out = 8, .groups = 2, .bias = true},
              depthwise_conv2d{.kernel = 5, .bias = true},
              pointwise_conv2d{.out = 9, .groups = 1, .bias = true}, dense{.out = 3}};
  constexpr auto& plan = plan_of<net>;
  constexpr auto layout = packed_layout_of(plan);
  std::vector<float> folded(plan.weight_floats);
  for (std::size_t i = 0; i < folded.size(); ++i) folded[i] = static_cast<float>(i);
  std::vector<float> packed(layout.floats, -1.0f);
  pack_weights(plan, folded, packed);
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const node& n = plan.nodes[i];
    if (!has_weights(n.kind())) continue;
    CHECK(layout[i].weights % 32 == 0);
    CHECK(layout[i].bias % 32 == 0);
    const float* w = folded.data() + n.weight_offset;
    const float* p = packed.data() + layout[i].weights;
    const layer_spec& s = n.spec;
    if (n.kind() == op::conv2d) {  // (O, KH, KW, I/g) -> (g, KH, KW, I/g, O/g)
      // Output 5 is output 1 of group 1; tap (2, 1), input 2 of its group.
      CHECK(p[((1 * 3 + 2) * 3 + 1) * 3 * 4 + 2 * 4 + 1] == w[((5 * 3 + 2) * 3 + 1) * 3 + 2]);
    } else if (n.kind() == op::depthwise_conv2d) {  // (C, 25) -> (25, C)
      CHECK(p[17 * 8 + 3] == w[3 * 25 + 17]);
    } else if (n.kind() == op::pointwise_conv2d) {  // (O, I) -> (I, O)
      CHECK(p[5 * 9 + 7] == w[7 * 8 + 5]);
    } else {  // dense (O, F) -> (F, O) and the (O, F) rows
      const std::size_t features = s.input.size();
      CHECK(p[11 * 3 + 2] == w[2 * features + 11]);
      CHECK(packed[layout[i].rows + 2 * features + 11] == w[2 * features + 11]);
    }
    for (int o = 0; o < s.output.channels; ++o) {
      CHECK(packed[layout[i].bias + static_cast<std::size_t>(o)] == folded[n.bias_offset + o]);
    }
  }
  std::vector<float> short_folded(plan.weight_floats - 1);
  CHECK_THROWS_AS(pack_weights(plan, short_folded, packed), lmnet::error);
}

TEST_CASE("cuda fusion: every bottleneck of the presets fuses, ShuffleNet's inner ones too") {
  CHECK(fusable_blocks(plan_of<mobilenet_v2>) == 17);
  CHECK(fusable_blocks(plan_of<mobilenet_v2_cifar>) == 17);
  CHECK(fusable_blocks(plan_of<l_mobilenet>) == 7);
  // Each unit's [1x1, depthwise, 1x1] branch, and the [depthwise, 1x1] side of the 3 units of
  // stride 2: bottlenecks by their structure, though no block type says so.
  CHECK(fusable_blocks(plan_of<shufflenet_v2_cifar>) == 19);

  constexpr auto& plan = plan_of<l_mobilenet>;
  const bottleneck f = match_bottleneck(plan, plan.blocks[1]);
  REQUIRE(fusable(plan, f));
  CHECK(f.expand == plan.blocks[1].first);
  CHECK(f.project == plan.blocks[1].last);
  REQUIRE(f.branch_count == 2);
  CHECK(f.branch(0).channel_begin == 0);
  CHECK(f.branch(0).channels == 48);
  CHECK(f.branch(0).depth == 1);
  CHECK(f.branch(1).channel_begin == 48);
  CHECK(f.branch(1).channels == 48);
  CHECK(f.branch(1).depth == 2);

  constexpr auto& mb = plan_of<mobilenet_v2>;
  const bottleneck first = match_bottleneck(mb, mb.blocks[0]);  // expansion 1
  REQUIRE(fusable(mb, first));
  CHECK(first.expand == -1);
  CHECK(first.branch_count == 1);
  CHECK(first.branch(0).channel_begin == 0);
  CHECK(first.branch(0).channels == 32);
}

TEST_CASE("cuda fusion: the fused launches of every preset, on each GPU, at batch 1 and 256") {
  // Which blocks fuse is the backend's largest decision: these counts pin it.
  auto fused_launches = [](const auto& plan, const device_limits& limits, int batch) {
    const schedule s = schedule_of(plan, batch, limits);
    return static_cast<int>(std::count_if(s.steps.begin(), s.steps.end(), is_fused));
  };
  for (const device_limits& limits : gpus) {
    for (const int batch : {1, 256}) {
      INFO("SMs " << limits.multiprocessors << " batch " << batch);
      CHECK(fused_launches(plan_of<mobilenet_v2>, limits, batch) == 17);
      CHECK(fused_launches(plan_of<mobilenet_v2_cifar>, limits, batch) == 17);
      CHECK(fused_launches(plan_of<l_mobilenet>, limits, batch) == 7);
      CHECK(fused_launches(plan_of<l_mobilenet_rgb>, limits, batch) == 7);
      CHECK(fused_launches(plan_of<shufflenet_v2>, limits, batch) == 19);
      CHECK(fused_launches(plan_of<shufflenet_v2_cifar>, limits, batch) == 19);
      CHECK(fused_launches(plan_of<plain_cnn>, limits, batch) == 0);
      CHECK(fused_launches(plan_of<resnet8>, limits, batch) == 0);
      CHECK(fused_launches(plan_of<resnet20>, limits, batch) == 0);
    }
  }
}

TEST_CASE("cuda fusion: a block whose inner tensor is read outside it does not fuse") {
  auto plan = plan_of<mobilenet_v2_cifar>;  // a mutable copy
  const block_record b = plan.blocks[3];
  REQUIRE(fusable(plan, match_bottleneck(plan, b)));
  // Make the node after the block read the block's expanded tensor (a read the plan counts).
  node& next = plan.nodes[static_cast<std::size_t>(b.last + 1)];
  const int expanded = plan.nodes[static_cast<std::size_t>(b.first)].output;
  next.residual = expanded;
  ++plan.values[static_cast<std::size_t>(expanded)].consumers;
  CHECK_FALSE(fusable(plan, match_bottleneck(plan, b)));

  // A block whose output shares memory with its input does not fuse either.
  auto overlapping = plan_of<mobilenet_v2_cifar>;
  const int input = overlapping.nodes[static_cast<std::size_t>(b.first)].input();
  const int output = overlapping.nodes[static_cast<std::size_t>(b.last)].output;
  overlapping.values[static_cast<std::size_t>(output)].offset =
      overlapping.values[static_cast<std::size_t>(input)].offset;
  CHECK_FALSE(fusable(overlapping, match_bottleneck(overlapping, b)));
  CHECK(match_bottleneck(overlapping, b).valid());  // the memory is the kernel's own rule
}

TEST_CASE("cuda fusion: bottlenecks the fused kernel cannot compute run node by node") {
  constexpr auto& source = plan_of<l_mobilenet>;
  const block_record b = source.blocks[1];
  REQUIRE(fusable(source, match_bottleneck(source, b)));
  const bottleneck m = match_bottleneck(source, b);
  REQUIRE(m.branch_count == 2);

  // The projection reads the branches in the other order: its input channel e is no longer
  // hidden channel e.
  auto swapped = source;
  node& concat = swapped.nodes[static_cast<std::size_t>(
      swapped.value_at(swapped.nodes[static_cast<std::size_t>(m.project)].input()).producer)];
  REQUIRE(concat.kind() == op::concat);
  std::swap(concat.inputs[0], concat.inputs[1]);
  CHECK(match_bottleneck(swapped, b).valid());
  CHECK_FALSE(fusable(swapped, match_bottleneck(swapped, b)));

  // A depthwise window of two sizes.
  auto oblong = source;
  oblong.nodes[static_cast<std::size_t>(m.branch(1).nodes[1])].spec.kernel = {3, 5};
  CHECK(match_bottleneck(oblong, b).valid());
  CHECK_FALSE(fusable(oblong, match_bottleneck(oblong, b)));
}

TEST_CASE("cuda tiling: every fused block fits each GPU, at batch 1 and 256") {
  auto check_plan = [](const auto& plan, const char* name) {
    for (const device_limits& limits : gpus) {
      for (int batch : {1, 256}) {
        const schedule s = schedule_of(plan, batch, limits);
        int fused = 0;
        for (const step& st : s.steps) {
          std::visit(
              [&](const auto& l) {
                using body = typename std::decay_t<decltype(l)>::body;
                if constexpr (requires { body::accumulators; }) {
                  ++fused;
                  const fused_block_params& p = l.params;
                  const fused_tiling& t = p.tiling;
                  INFO(name << " batch " << batch << " SMs " << limits.multiprocessors << " tile "
                            << t.tile_height << "x" << t.tile_width << " chunk " << t.chunk
                            << " splits " << t.splits);
                  CHECK(l.shape.shared_bytes <= limits.shared_bytes_per_block);
                  CHECK(l.shape.shared_bytes == fused_layout_of(p).total * sizeof(float));
                  CHECK(fused_micro_tiles(p) <= body::threads * body::accumulators);
                  CHECK(t.chunk % 4 == 0);
                  CHECK(t.splits >= 1);
                  CHECK(t.splits <= chunk_count(p, 0));
                  CHECK(fused_tiles_y(p) * t.tile_height >= p.out.height);
                  CHECK(fused_tiles_x(p) * t.tile_width >= p.out.width);
                  CHECK(l.shape.grid.blocks() ==
                        static_cast<std::size_t>(fused_tiles(p)) * p.groups * t.splits);
                  if (batch == 256) CHECK(t.splits == 1);
                }
              },
              st);
        }
        CHECK(fused == fusable_blocks(plan));
      }
    }
  };
  check_plan(plan_of<mobilenet_v2>, "mobilenet_v2");
  check_plan(plan_of<mobilenet_v2_cifar>, "mobilenet_v2_cifar");
  check_plan(plan_of<l_mobilenet>, "l_mobilenet");
}

TEST_CASE("cuda tiling: batch 1 splits the late blocks to fill the GPU") {
  const schedule s = schedule_of(plan_of<mobilenet_v2>, 1, gpus[3]);
  int split = 0;
  for (const step& st : s.steps) {
    if (const auto* l = std::get_if<launch<fused_block<4>>>(&st))
      split += l->params.tiling.splits > 1;
    if (const auto* l = std::get_if<launch<fused_block<2>>>(&st))
      split += l->params.tiling.splits > 1;
    if (const auto* l = std::get_if<launch<fused_block<1>>>(&st))
      split += l->params.tiling.splits > 1;
  }
  CHECK(split > 0);
  // Stem, 17 fused blocks, head, pooling, classifier: 21 launches.
  CHECK(s.steps.size() == 21);
}

TEST_CASE("cuda schedule: each layer gets the kernel its shape calls for") {
  static constexpr auto net = network{input{16, 16, 3},
                                      conv2d{.out = 16, .stride = 2},
                                      depthwise_conv2d{},
                                      depthwise_conv2d{.stride = 2},
                                      pointwise_conv2d{.out = 7},
                                      depthwise_conv2d{},
                                      depthwise_conv2d{.kernel = 5},
                                      depthwise_conv2d{.kernel = 7},
                                      global_avg_pool{},
                                      dense{.out = 10},
                                      softmax{}};
  // Unfused: its depthwise layers and 1x1 layer are a bottleneck by their structure.
  const schedule_options unfused{.fuse_blocks = false};
  const schedule few = schedule_of(plan_of<net>, 1, gpus[3], unfused);
  CHECK(count_of<conv2d_direct<true>>(few) == 1);
  CHECK(count_of<depthwise<3, 1, true>>(few) == 1);
  CHECK(count_of<depthwise<3, 2, true>>(few) == 1);
  CHECK(count_of<depthwise<3, 1, false>>(few) == 1);  // 7 channels: scalar
  CHECK(count_of<depthwise<5, 1, false>>(few) == 1);
  CHECK(count_of<depthwise<0, 0, false>>(few) == 1);
  CHECK(count_of<gemm<gemm_small, true>>(few) == 1);
  CHECK(count_of<spatial_mean>(few) == 1);
  CHECK(count_of<dense_gemv<false>>(few) == 1);  // 7 features: scalar
  CHECK(count_of<channel_softmax>(few) == 1);
  const schedule many = schedule_of(plan_of<net>, 64, gpus[3], unfused);
  CHECK(count_of<gemm<gemm_small, false>>(many) == 1);  // the classifier as a matrix product

  CHECK(choose_gemm_tile(1 << 20, 24, 1, gpus[3]) == gemm_narrow);
  CHECK(choose_gemm_tile(1 << 20, 144, 1, gpus[3]) == gemm_large);
  CHECK(choose_gemm_tile(49, 1280, 1, gpus[3]) == gemm_small);
}

// SPDX-License-Identifier: Apache-2.0
// Fused bottlenecks emulated on the host against the reference backend.
#include "cuda_host_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <variant>
#include <vector>

using namespace lmnet;
using lmnet::test::compare_with_reference;

namespace {

template <int Depth0, int Depth1, int Groups, int Stride>
inline constexpr auto l_net = network{
    input{9, 7, 8}, l_bottleneck<l_bottleneck_config{.groups = Groups, .depths = {Depth0, Depth1}}>{
                        .out = 8, .stride = Stride}};

inline constexpr auto first_block =
    network{input{32, 32, 16}, l_bottleneck<>{.out = 24, .stride = 2}};
inline constexpr auto second_block =
    network{input{16, 16, 24}, l_bottleneck<>{.out = 24, .stride = 1}};
inline constexpr auto late_block =
    network{input{4, 4, 96}, l_bottleneck<>{.out = 128, .stride = 1}};

template <const auto& Net>
void check_block(const char* what) {
  const auto c = compare_with_reference<Net>(1, test::hopper);
  INFO(what);
  CHECK(c.error < 1e-5);
}

}  // namespace

TEST_CASE("cuda host: l_bottleneck variants") {
  check_block<l_net<1, 1, 1, 1>>("depths 1 1, groups 1, stride 1");
  check_block<l_net<1, 1, 2, 1>>("depths 1 1, groups 2, stride 1");
  check_block<l_net<1, 2, 1, 1>>("depths 1 2, groups 1, stride 1");
  check_block<l_net<2, 2, 1, 1>>("depths 2 2, groups 1, stride 1");
  check_block<l_net<1, 2, 2, 1>>("depths 1 2, groups 2, stride 1");
  check_block<l_net<1, 1, 1, 2>>("depths 1 1, groups 1, stride 2");
  check_block<l_net<1, 2, 2, 2>>("depths 1 2, groups 2, stride 2");
  check_block<first_block>("l_mobilenet's first block");
  check_block<second_block>("l_mobilenet's second block");
  check_block<late_block>("l_mobilenet's last block");
}

namespace {

inline constexpr auto ir_residual =
    network{input{11, 9, 5}, inverted_residual{.out = 5, .stride = 1, .expansion = 6}};
inline constexpr auto ir_stride2 =
    network{input{11, 9, 8}, inverted_residual{.out = 12, .stride = 2, .expansion = 6}};
inline constexpr auto ir_no_expansion =
    network{input{10, 10, 6}, inverted_residual{.out = 6, .stride = 1, .expansion = 1}};
// Three branches of depths 1, 2, 3 over a quarter, a half and a quarter of the channels, with a
// dense projection: one group spans every branch.
inline constexpr auto l_three_branches = network{
    input{12, 10, 6},
    l_bottleneck<l_bottleneck_config{
        .expansion = 4, .groups = 1, .branches = 3, .depths = {1, 2, 3}, .widths = {1, 2, 1}}>{
        .out = 6, .stride = 1}};
// Four projection groups over two branches: each branch spans two groups.
inline constexpr auto l_four_groups =
    network{input{9, 9, 8}, l_bottleneck<l_bottleneck_config{.groups = 4}>{.out = 8, .stride = 2}};

// Runs the network with every fused block forced to `tiling` (four accumulators per thread).
template <const auto& Net>
void check_tilings(int batch) {
  model<Net> reference(batch);
  reference.load(random_weights{3});
  const auto images =
      test::random_vector(reference.input_shape.size() * static_cast<std::size_t>(batch), 4);
  const auto expected = reference.infer(images, batch);
  test::host_cuda_engine<model<Net>::plan> engine(batch, test::hopper);
  engine.load(random_weights{3});
  engine.reserve_scratch(std::size_t{1} << 20, 4096);
  const cuda::schedule base = engine.schedule_for(batch);
  REQUIRE(std::any_of(base.steps.begin(), base.steps.end(), cuda::is_fused));
  const cuda::fused_tiling tilings[] = {{1, 1, 4, 1},  {2, 3, 8, 1},  {3, 2, 4, 3},
                                        {5, 5, 16, 2}, {4, 7, 12, 1}, {16, 16, 32, 1},
                                        {2, 2, 8, 5},  {3, 4, 4, 64}};
  for (const cuda::fused_tiling& t : tilings) {
    cuda::schedule s = base;
    for (cuda::step& st : s.steps) {
      if (!cuda::is_fused(st)) continue;
      cuda::fused_block_params p = std::visit(
          [](const auto& l) -> cuda::fused_block_params {
            if constexpr (requires { std::decay_t<decltype(l)>::body::accumulators; }) {
              return l.params;
            } else {
              return cuda::fused_block_params{};
            }
          },
          st);
      p.tiling = t;
      REQUIRE(cuda::fused_micro_tiles(p) <= 4 * 256);
      const auto [first, last] = cuda::step_nodes(st);
      st = cuda::launch<cuda::fused_block<4>>{p, cuda::fused_block<4>::shape(p), first, last};
    }
    INFO("tile " << t.tile_height << "x" << t.tile_width << " chunk " << t.chunk << " splits "
                 << t.splits);
    const std::vector<float> got = engine.run_with(s, images, batch, test::block_order::forward);
    CHECK(test::max_relative_error(got, {expected.begin(), expected.end()}) < 1e-5);
    // Blocks and threads in the other order: the same bits (no phase depends on another
    // thread's work of the same phase, and split sums are added in a fixed order).
    CHECK(engine.run_with(s, images, batch, test::block_order::backward) == got);
  }
}

}  // namespace

TEST_CASE("cuda host: fused blocks give the same result for any tiling, chunking and split") {
  check_tilings<ir_residual>(2);
  check_tilings<ir_stride2>(2);
  check_tilings<ir_no_expansion>(1);
  check_tilings<l_three_branches>(2);
  check_tilings<l_four_groups>(1);
  check_tilings<late_block>(2);
}

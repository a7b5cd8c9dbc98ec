// SPDX-License-Identifier: Apache-2.0
// Combinators: order, indexing, optional and alternative children, arrays of blocks, sums.
#include "plan_checks.hpp"

#include <lmnet/blocks.hpp>
#include <lmnet/layers.hpp>
#include <lmnet/network.hpp>

#include <doctest/doctest.h>

#include <array>

using namespace lmnet;

namespace {

constexpr auto three_blocks() {
  std::array<inverted_residual, 3> blocks{};
  for (int i = 0; i < 3; ++i)
    blocks[static_cast<std::size_t>(i)] = {.out = 8 * (i + 1), .stride = 1 + i % 2};
  return blocks;
}

inline constexpr auto array_net =
    network{input{16, 16, 8}, named("blocks", sequential(three_blocks())), global_avg_pool{}};

inline constexpr auto optional_net =
    network{input{8, 8, 4}, when(false, conv2d{.out = 5}), when(true, conv2d{.out = 6}),
            either(false, pointwise_conv2d{.out = 1}, pointwise_conv2d{.out = 7})};

inline constexpr auto sum_net =
    network{input{8, 8, 4},
            sum(identity{}, named("a", pointwise_conv2d{.out = 4}), named("b", conv2d{.out = 4}))};

}  // namespace

TEST_CASE("combinators: a std::array child is one indexed child per element") {
  constexpr auto& p = plan_of<array_net>;
  CHECK(p.nodes[0].name.str() == "blocks.0.conv.0.0");
  CHECK(p.nodes[3].name.str() == "blocks.1.conv.0.0");
  CHECK(p.nodes[6].name.str() == "blocks.2.conv.0.0");
  CHECK(p.nodes[8].spec.output == shape{8, 8, 24});
  CHECK(p.blocks.size() == 3);
  CHECK(test::check_plan(p).empty());
}

TEST_CASE("combinators: disabled children take no index, either picks one") {
  constexpr auto& p = plan_of<optional_net>;
  REQUIRE(p.nodes.size() == 2);
  CHECK(p.nodes[0].name.str() == "0");
  CHECK(p.nodes[0].spec.output.channels == 6);
  CHECK(p.nodes[1].name.str() == "1");
  CHECK(p.output_shape().channels == 7);
}

TEST_CASE("combinators: a sum of three branches chains two adds, both fused") {
  constexpr auto& p = plan_of<sum_net>;
  // The first add fuses into branch a's conv (adding the input), the second into branch b's conv
  // (adding a's result).
  REQUIRE(p.nodes.size() == 2);
  CHECK(p.nodes[0].residual == p.input_value);
  CHECK(p.nodes[1].residual == p.nodes[0].output);
  constexpr auto& unfused = plan_of<sum_net, compile_options{.fuse = false}>;
  CHECK(unfused.nodes.size() == 4);
}

TEST_CASE("plan: weights are laid out without overlap, aligned, in node order") {
  constexpr auto& p = plan_of<array_net>;
  std::size_t end = 0;
  for (const node& n : p.nodes) {
    if (!has_weights(n.kind())) continue;
    CHECK(n.weight_offset >= end);
    CHECK(n.weight_offset % 16 == 0);
    CHECK(n.bias_offset >= n.weight_offset + n.spec.weight_count());
    CHECK(n.bias_offset % 16 == 0);
    end = n.bias_offset + static_cast<std::size_t>(n.spec.output.channels);
  }
  CHECK(end <= p.weight_floats);
  CHECK(p.arena_bytes(3) == 3 * p.arena_bytes(1));
}

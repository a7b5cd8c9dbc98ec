// SPDX-License-Identifier: Apache-2.0
// Combinators: order, indexing, optional and alternative children, arrays of blocks, sums.
#include "plan_checks.hpp"

#include <lmnet/blocks.hpp>
#include <lmnet/layers.hpp>
#include <lmnet/network.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>
#include <string_view>

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

namespace {

// The module path of every weight layer and, after it, of its folded batch norm, space-separated.
template <class Plan>
std::string module_paths(const Plan& plan) {
  std::string out;
  for (const node& n : plan.nodes) {
    if (!has_weights(n.kind())) continue;
    for (const path* p : {&n.name, n.has_norm ? &n.norm_name : nullptr}) {
      if (p == nullptr) continue;
      if (!out.empty()) out += ' ';
      out += p->str();
    }
  }
  return out;
}

// The naming example of docs/networks.md.
inline constexpr auto docs_net = network{
    input{16, 16, 3},
    conv2d{.out = 8},
    batch_norm{},
    relu6,
    named("blocks", sequential(conv_bn(pointwise_conv2d{.out = 8}, relu),
                               named("body", conv_bn(depthwise_conv2d{}, relu)),
                               residual_if(true, named("body", conv_bn(depthwise_conv2d{}))))),
    named("head",
          chain(named("conv", pointwise_conv2d{.out = 16}), named("bn", batch_norm{}), relu)),
    residual(pointwise_conv2d{.out = 16}, batch_norm{}),
    global_avg_pool{},
    named("classifier", dense{.out = 10})};

// Two children of one sequential with the same attribute: distinct paths, under their indices.
inline constexpr auto repeated_attribute_net = network{
    input{8, 8, 3},
    named("blocks", sequential(named("body", conv2d{.out = 8}), named("body", conv2d{.out = 8})))};

// An MNASNet-like block: a shortcut only where the stride is 1 and the widths match, the layers in
// a `body` attribute either way.
struct mnas_block {
  static constexpr block_kind kind = block_kind::none;
  int out = 0;
  int stride = 1;
  int kernel = 3;
  constexpr auto structure(shape in) const {
    return residual_if(
        stride == 1 && in.channels == out,
        named(
            "body",
            sequential(
                conv_bn(pointwise_conv2d{.out = 3 * in.channels}, relu),
                conv_bn(depthwise_conv2d{.kernel = kernel, .stride = stride, .padding = kernel / 2},
                        relu),
                conv_bn(pointwise_conv2d{.out = out}))));
  }
};
inline constexpr auto mnas_net =
    network{input{16, 16, 3}, named("stem", conv_bn(conv2d{.out = 8, .stride = 2}, relu)),
            named("blocks", sequential(mnas_block{.out = 8}, mnas_block{.out = 16, .stride = 2},
                                       named("last", mnas_block{.out = 16, .kernel = 5})))};

}  // namespace

TEST_CASE("combinators: module paths of sequential indices, named attributes and forward code") {
  CHECK(module_paths(plan_of<docs_net>) ==
        "0 1 blocks.0.0 blocks.0.1 blocks.1.body.0 blocks.1.body.1 blocks.2.body.0 blocks.2.body.1 "
        "head.conv head.bn 5.0 5.1 classifier");
  CHECK(module_paths(plan_of<repeated_attribute_net>) == "blocks.0.body blocks.1.body");
  CHECK(module_paths(plan_of<mnas_net>) ==
        "stem.0 stem.1 "
        "blocks.0.body.0.0 blocks.0.body.0.1 blocks.0.body.1.0 blocks.0.body.1.1 "
        "blocks.0.body.2.0 blocks.0.body.2.1 "
        "blocks.1.body.0.0 blocks.1.body.0.1 blocks.1.body.1.0 blocks.1.body.1.1 "
        "blocks.1.body.2.0 blocks.1.body.2.1 "
        "blocks.2.last.body.0.0 blocks.2.last.body.0.1 blocks.2.last.body.1.0 "
        "blocks.2.last.body.1.1 blocks.2.last.body.2.0 blocks.2.last.body.2.1");
  // The shortcut (fused into each block's projection) where stride 1 keeps the width only.
  auto has_shortcut = [](std::string_view path) {
    for (const node& n : plan_of<mnas_net>.nodes) {
      if (n.name.str() == path) return n.residual >= 0;
    }
    FAIL("no layer ", path);
    return false;
  };
  CHECK(has_shortcut("blocks.0.body.2.0"));
  CHECK_FALSE(has_shortcut("blocks.1.body.2.0"));
  CHECK(has_shortcut("blocks.2.last.body.2.0"));
}

TEST_CASE("combinators: two layers with one module path are an error naming that path") {
  CHECK(std::string(detail::summarize(
                        network{input{8, 8, 3}, named("x", chain(named("body", conv2d{.out = 8}),
                                                                 named("body", conv2d{.out = 8})))},
                        {})
                        .error.view()) ==
        "layer 'x.body' (conv2d): another layer has the same module path; give one of them a "
        "`named(...)` segment");
}

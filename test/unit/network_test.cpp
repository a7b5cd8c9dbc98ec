// SPDX-License-Identifier: Apache-2.0
// Compiling network descriptions: fusion, naming, branches, memory planning, and the messages of
// invalid descriptions.
#include "plan_checks.hpp"

#include <lmnet/blocks.hpp>
#include <lmnet/layers.hpp>
#include <lmnet/models.hpp>
#include <lmnet/network.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace lmnet;

namespace {

inline constexpr auto stem_block =
    network{input{16, 16, 3}, conv2d{.out = 8, .stride = 2}, batch_norm{}, relu6, global_avg_pool{},
            dense{.out = 4}};

inline constexpr auto residual_net =
    network{input{8, 8, 4},
            residual(pointwise_conv2d{.out = 12}, batch_norm{}, relu6, depthwise_conv2d{},
                     batch_norm{}, relu6, pointwise_conv2d{.out = 4}, batch_norm{}),
            relu, global_avg_pool{}};

// An Inception-style join: one branch passes through, another is the activated tensor.
inline constexpr auto branch_net =
    network{input{6, 6, 4}, conv2d{.out = 6}, concat(identity{}, chain(relu, channel_slice{0, 2})),
            channel_shuffle{2}, global_avg_pool{}};

inline constexpr auto concat_net =
    network{input{6, 6, 4}, conv2d{.out = 6},
            concat(named("a", pointwise_conv2d{.out = 3}), named("b", conv2d{.out = 5}),
                   chain(channel_slice{1, 2})),
            global_avg_pool{}};

template <class Net>
std::string error_of(const Net& net) {
  return std::string(detail::summarize(net, {}).error.view());
}

}  // namespace

TEST_CASE("network: conv, batch norm and activation run as one node") {
  constexpr auto& p = plan_of<stem_block>;
  static_assert(p.nodes.size() == 3);
  const node& conv = p.nodes[0];
  CHECK(conv.kind() == op::conv2d);
  CHECK(conv.has_norm);
  CHECK_FALSE(conv.has_bias);
  CHECK(conv.spec.act == activation::relu6);
  CHECK(conv.name.str() == "0");
  CHECK(conv.norm_name.str() == "1");
  CHECK(p.nodes[2].name.str("weight") == "4.weight");
  CHECK(p.nodes[2].has_bias);
  CHECK(p.output_shape() == shape{1, 1, 4});
  CHECK(p.params() == 8 * 27 + 16 + 8 * 4 + 4);
  CHECK(p.macs() == 8 * 27 * 64 + 32);
  CHECK(p.weight_layers() == 2);
  CHECK(test::check_plan(p).empty());
}

TEST_CASE("network: the residual add and the activation after it fuse into the projection") {
  constexpr auto& fused = plan_of<residual_net>;
  REQUIRE(fused.nodes.size() == 4);
  const node& project = fused.nodes[2];
  CHECK(project.kind() == op::pointwise_conv2d);
  CHECK(project.residual == fused.input_value);
  CHECK(project.spec.act == activation::relu);
  CHECK(project.name.str() == "0.6");
  CHECK(project.norm_name.str() == "0.7");
  CHECK(test::check_plan(fused).empty());

  constexpr auto& unfused = plan_of<residual_net, compile_options{.fuse = false}>;
  int adds = 0, activations = 0;
  for (const node& n : unfused.nodes) {
    adds += n.kind() == op::add;
    activations += n.kind() == op::activation;
  }
  CHECK(adds == 1);
  CHECK(activations == 3);
  CHECK(test::check_plan(unfused).empty());
}

TEST_CASE("network: an activation whose input feeds another branch stays a layer of its own") {
  constexpr auto& p = plan_of<branch_net>;
  int activations = 0;
  for (const node& n : p.nodes) activations += n.kind() == op::activation;
  CHECK(activations == 1);
  CHECK(p.nodes[0].spec.act == activation::none);
  CHECK(p.output_shape() == shape{1, 1, 8});
  CHECK(test::check_plan(p).empty());
}

TEST_CASE("network: concat inputs are written in place and slices are views") {
  constexpr auto& p = plan_of<concat_net>;
  const node* cat = nullptr;
  for (const node& n : p.nodes) {
    if (n.kind() == op::concat) cat = &n;
    if (n.kind() == op::channel_slice) CHECK(n.elided);
  }
  REQUIRE(cat != nullptr);
  // The two convolutions write into the concat's memory; the slice of the stem does not.
  CHECK(p.value_at(cat->inputs[0]).storage == cat->output);
  CHECK(p.value_at(cat->inputs[0]).channel_offset == 0);
  CHECK(p.value_at(cat->inputs[1]).storage == cat->output);
  CHECK(p.value_at(cat->inputs[1]).channel_offset == 3);
  CHECK(p.value_at(cat->inputs[2]).storage != cat->output);
  CHECK(p.value_at(cat->inputs[2]).channel_offset == 1);
  CHECK_FALSE(cat->elided);
  CHECK(p.nodes[1].name.str() == "1.a");
  CHECK(test::check_plan(p).empty());
}

TEST_CASE("network: blocks are recorded with their node ranges") {
  static constexpr auto net = network{input{8, 8, 16}, inverted_residual{.out = 16},
                                      inverted_residual{.out = 24, .stride = 2}};
  constexpr auto& p = plan_of<net>;
  REQUIRE(p.blocks.size() == 2);
  CHECK(p.blocks[0].kind == block_kind::inverted_residual);
  CHECK(p.blocks[0].first == 0);
  CHECK(p.blocks[0].last == 2);
  CHECK(p.blocks[1].first == 3);
  CHECK(p.blocks[1].last == 5);
  CHECK(p.nodes[2].residual == p.input_value);
  CHECK(p.nodes[5].residual == -1);
  CHECK(p.nodes[1].name.str() == "0.conv.1.0");
  CHECK(p.nodes[1].norm_name.str() == "0.conv.1.1");
}

TEST_CASE("network: the memory plan never overwrites a live tensor (presets)") {
  static constexpr auto mb = models::mobilenet_v2({.classes = 10, .resolution = 64});
  static constexpr auto sh = models::shufflenet_v2({.classes = 10, .resolution = 64});
  static constexpr auto lm = models::l_mobilenet();
  CHECK(test::check_plan(plan_of<mb>) == "");
  CHECK(test::check_plan(plan_of<sh>) == "");
  CHECK(test::check_plan(plan_of<lm>) == "");
  CHECK(test::check_plan(plan_of<lm, compile_options{.fuse = false}>) == "");
  // Sharing memory between tensors whose lifetimes do not overlap keeps the arena well below the
  // sum of all activations.
  std::size_t total = 0;
  for (const value& v : plan_of<mb>.values) total += v.image.size();
  CHECK(plan_of<mb>.arena_floats < total / 4);
}

TEST_CASE("network: invalid descriptions name the layer and the problem") {
  CHECK(
      error_of(network{input{8, 8, 3}, conv2d{.out = 24}, pointwise_conv2d{.in = 32, .out = 8}}) ==
      "layer '1' (pointwise_conv2d): channel mismatch: declared .in = 32 but the input has 24 "
      "channels");
  CHECK(error_of(network{
            input{8, 8, 3},
            named("features", sequential(conv2d{.out = 8}, conv2d{.out = 6, .groups = 3}))}) ==
        "layer 'features.1' (conv2d): groups = 3 does not divide the 8 input channels");
  CHECK(error_of(network{input{4, 4, 3}, conv2d{.out = 8, .stride = 2},
                         conv2d{.out = 8, .kernel = 5, .padding = 0}}) ==
        "layer '1' (conv2d): spatial size too small: input 2x2 with padding 0x0 is smaller than "
        "the 5x5 kernel");
  CHECK(error_of(network{input{8, 8, 3}, sum(conv2d{.out = 8}, conv2d{.out = 4})}) ==
        "layer '0' (add): channel mismatch: cannot add 8x8x8 and 8x8x4");
  CHECK(error_of(network{input{8, 8, 3}, global_avg_pool{}, batch_norm{}}) ==
        "layer '1' (batch_norm): must directly follow a convolution or dense layer whose output "
        "feeds nothing else");
  CHECK(error_of(network{input{8, 8, 3}, concat(conv2d{.out = 2}, conv2d{.out = 2})}) ==
        "layer '0' (conv2d): another layer has the same module path; give one of them a "
        "`named(...)` segment");
  CHECK(error_of(network{input{8, 8, 3}, identity{}}) == "the network has no layers");
  CHECK(error_of(network{input{0, 8, 3}, conv2d{.out = 2}})
            .starts_with("the network input shape must be positive"));
  CHECK(error_of(network{input{8, 8, 8}, shuffle_unit{.out = 8}, shuffle_unit{.out = 6}}) ==
        "layer '1.branch2.0' (pointwise_conv2d): channel mismatch: declared .in = 3 but the input "
        "has 4 channels");
}

TEST_CASE("network: module paths follow nn.Sequential and named attributes") {
  constexpr auto& p = plan_of<concat_net>;
  CHECK(p.nodes[0].name.str("weight") == "0.weight");
  static constexpr auto net =
      network{input{8, 8, 8}, named("stage", sequential(sequential(when(false, conv2d{.out = 8}),
                                                                   pointwise_conv2d{.out = 8}),
                                                        l_bottleneck<>{.out = 8}))};
  constexpr auto& q = plan_of<net>;
  CHECK(q.nodes[0].name.str() == "stage.0.0");
  CHECK(q.nodes[1].name.str() == "stage.1.expand.0");
  CHECK(q.nodes[1].norm_name.str() == "stage.1.expand.1");
  CHECK(q.nodes[2].kind() == op::channel_slice);
  CHECK(q.nodes[3].name.str() == "stage.1.branches.0.0.0");
  CHECK(q.nodes[5].name.str() == "stage.1.branches.1.0.0");
  CHECK(q.nodes[6].name.str() == "stage.1.branches.1.1.0");
  CHECK(q.nodes.back().name.str() == "stage.1.project.0");
}

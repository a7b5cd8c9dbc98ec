// SPDX-License-Identifier: Apache-2.0
// Compile-time shape inference and statistics of small networks. This file only has to compile.
#include <lmnet/blocks.hpp>
#include <lmnet/layers.hpp>
#include <lmnet/network.hpp>

namespace {

using namespace lmnet;

inline constexpr auto chain_net = network{input{28, 28, 1},
                                          conv2d{.out = 8, .stride = 2},
                                          batch_norm{},
                                          relu,
                                          depthwise_conv2d{.kernel = 5, .stride = 2},
                                          pointwise_conv2d{.out = 16, .groups = 2},
                                          max_pool2d{.kernel = 2},
                                          global_avg_pool{},
                                          dense{.out = 10},
                                          softmax{}};
constexpr auto& chain_plan = plan_of<chain_net>;
static_assert(chain_plan.nodes[0].spec.output == shape{14, 14, 8});
static_assert(chain_plan.nodes[1].spec.output == shape{7, 7, 8});
static_assert(chain_plan.nodes[2].spec.output == shape{7, 7, 16});
static_assert(chain_plan.nodes[3].spec.output == shape{3, 3, 16});
static_assert(chain_plan.output_shape() == shape{1, 1, 10});
static_assert(chain_plan.weight_layers() == 4);
static_assert(chain_plan.params() == (8 * 9 + 16) + (8 * 25 + 8) + (16 * 4 + 16) + (16 * 10 + 10));
static_assert(chain_plan.macs() == 8 * 9 * 196 + 8 * 25 * 49 + 16 * 4 * 49 + 160);

// Branches: an Inception-ResNet style block (three branches, concat, 1x1, residual add).
inline constexpr auto inception =
    network{input{16, 16, 32},
            residual(concat(named("b0", pointwise_conv2d{.out = 8}),
                            named("b1", sequential(pointwise_conv2d{.out = 8}, conv2d{.out = 8})),
                            named("b2", sequential(pointwise_conv2d{.out = 8}, conv2d{.out = 8},
                                                   conv2d{.out = 8}))),
                     pointwise_conv2d{.out = 32}),
            relu};
constexpr auto& inception_plan = plan_of<inception>;
static_assert(inception_plan.output_shape() == shape{16, 16, 32});
static_assert(inception_plan.weight_layers() == 7);
static_assert(inception_plan.macs() == 256 * (3 * 32 * 8 + 2 * 8 * 72 + 8 * 72 + 24 * 32));

// A grouped residual bottleneck with three branches.
inline constexpr auto three_branch = network{
    input{8, 8, 12},
    l_bottleneck<{
        .expansion = 3, .groups = 3, .branches = 3, .depths = {1, 2, 3}, .widths = {1, 1, 1}}>{
        .out = 12}};
constexpr auto& three_plan = plan_of<three_branch>;
static_assert(three_plan.weight_layers() == 1 + 6 + 1);
static_assert(three_plan.params() == (12 * 36 + 72) + 6 * (12 * 9 + 24) + (36 * 4 + 24));

// The arena holds, at least, the largest tensor alive.
static_assert(plan_of<chain_net>.arena_floats >= 14 * 14 * 8);

}  // namespace

// SPDX-License-Identifier: Apache-2.0
// Describe a network at compile time and read what lmnet infers about it, before running anything.
#include <lmnet/lmnet.hpp>

#include <cstdio>

using namespace lmnet;

// A small classifier for 28x28 grey images: a stem, two MobileNetV2 blocks, one L-Mobilenet
// bottleneck, and a head. Module names follow nn.Sequential indices (0, 1, ...).
inline constexpr auto classifier =
    network{input{28, 28, 1},
            conv2d{.out = 16, .stride = 2},
            batch_norm{},
            relu6,                                      // 14x14x16
            inverted_residual{.out = 24, .stride = 2},  // 7x7x24
            inverted_residual{.out = 24},               // 7x7x24, with its shortcut
            l_bottleneck<{.expansion = 4, .groups = 2}>{.out = 32},
            global_avg_pool{},
            dense{.out = 10}};

constexpr auto& compiled_plan = plan_of<classifier>;

// Everything below is known to the compiler: shapes, counts, memory.
static_assert(compiled_plan.output_shape() == shape{1, 1, 10});
static_assert(compiled_plan.weight_layers() == 1 + 3 + 3 + 5 + 1);

int main() {
  std::printf("input %dx%dx%d -> output %d classes\n", compiled_plan.input_shape().height,
              compiled_plan.input_shape().width, compiled_plan.input_shape().channels,
              compiled_plan.output_shape().channels);
  std::printf("weight layers %d, parameters %zu, MACs %zu, activation arena %zu bytes\n",
              compiled_plan.weight_layers(), compiled_plan.params(), compiled_plan.macs(),
              compiled_plan.arena_bytes());
  std::printf("\n%-28s %-18s %-10s %s\n", "module", "layer", "output", "fused");
  for (const node& n : compiled_plan.nodes) {
    if (n.elided) continue;
    char out[32];
    std::snprintf(out, sizeof out, "%dx%dx%d", n.spec.output.height, n.spec.output.width,
                  n.spec.output.channels);
    std::printf("%-28s %-18s %-10s %s%s%s\n", n.name.str().c_str(), op_name(n.kind()), out,
                n.has_norm ? "batch_norm " : "", activation_name(n.spec.act),
                n.residual >= 0 ? " +residual" : "");
  }
}

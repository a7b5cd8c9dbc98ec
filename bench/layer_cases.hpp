// SPDX-License-Identifier: Apache-2.0
// The weight layers of MobileNetV2 (224x224) and L-Mobilenet (32x32, the Fashion-MNIST model)
// with their real shapes, shared by lmnet's layer benchmarks and the peers' (oneDNN, XNNPACK),
// so every implementation runs the same list under the same names.
#pragma once

#include <lmnet/lmnet.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace lmnet::bench {

inline constexpr auto mobilenet_v2_224 = models::mobilenet_v2();
inline constexpr auto l_mobilenet_32 = models::l_mobilenet({.classes = 10, .channels = 1});

struct layer_case {
  std::string network;
  int node = 0;  // index in the plan
  layer_spec spec;
  int repeats = 1;  // layers of the network with this exact shape

  /// A layer's kind and shape, as in the benchmark names.
  std::string shape_name() const {
    const layer_spec& s = spec;
    char text[160];
    const char* kind = s.kind == op::pointwise_conv2d   ? "pointwise"
                       : s.kind == op::depthwise_conv2d ? "depthwise"
                       : s.kind == op::dense            ? "dense"
                                                        : "conv";
    if (s.kind == op::pointwise_conv2d) {
      std::snprintf(text, sizeof text, "%s_%dx%dx%d_to_%d%s", kind, s.input.height, s.input.width,
                    s.input.channels, s.output.channels,
                    s.groups > 1 ? ("_g" + std::to_string(s.groups)).c_str() : "");
    } else if (s.kind == op::dense) {
      std::snprintf(text, sizeof text, "%s_%d_to_%d", kind, static_cast<int>(s.input.size()),
                    s.output.channels);
    } else {
      std::snprintf(text, sizeof text, "%s%dx%ds%d_%dx%dx%d_to_%d", kind, s.kernel.height,
                    s.kernel.width, s.stride.height, s.input.height, s.input.width,
                    s.input.channels, s.output.channels);
    }
    return text;
  }
  /// "layer/<network>/<node>_<shape>"; implementations append "/<name>".
  std::string name() const {
    char index[8];
    std::snprintf(index, sizeof index, "%02d", node);
    return "layer/" + network + "/" + index + "_" + shape_name();
  }
  double flops() const { return 2.0 * static_cast<double>(spec.macs()); }
  /// Activations read and written, weights and bias read, once.
  double bytes() const {
    return 4.0 * static_cast<double>(spec.input.size() + spec.output.size() + spec.weight_count() +
                                     static_cast<std::size_t>(spec.output.channels));
  }
};

template <class Plan>
void add_weight_layers(std::vector<layer_case>& cases, const Plan& plan, const char* network) {
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const node& n = plan.nodes[i];
    if (!has_weights(n.kind())) continue;
    const layer_case c{network, static_cast<int>(i), n.spec, 1};
    bool seen = false;
    for (layer_case& other : cases) {
      if (other.network == c.network && other.shape_name() == c.shape_name()) {
        ++other.repeats;
        seen = true;
      }
    }
    if (!seen) cases.push_back(c);
  }
}

/// Every distinct weight layer of the two networks.
inline std::vector<layer_case> layer_cases() {
  std::vector<layer_case> cases;
  add_weight_layers(cases, plan_of<mobilenet_v2_224>, "mobilenet_v2_224");
  add_weight_layers(cases, plan_of<l_mobilenet_32>, "l_mobilenet_32");
  return cases;
}

}  // namespace lmnet::bench

// SPDX-License-Identifier: Apache-2.0
// A plan's layers in int8: each weight layer's weights quantized per output channel, its bias to
// int32, and every node's rescaling multipliers, from the folded fp32 weights and the quant
// params of each tensor (calibration.hpp). Every int8 backend packs from this.
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/network/node.hpp>
#include <lmnet/quantization/calibration.hpp>
#include <lmnet/quantization/params.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

/// One node in int8. Weight layers: out = clamp(round(sum * multiplier[o]) [+ round((r - r_zero)
/// * residual_multiplier)] + out_zero), sum = bias[o] + sum over taps of (x - in_zero) * w.
struct quantized_node {
  quant_params input;   // of inputs[0]
  quant_params output;  // of the output
  quant_clamp clamp;    // of the output, with the activation
  // Weight layers, in the canonical layout (io/bind.hpp): (O, KH, KW, I/groups) or (O, H*W*C).
  std::vector<std::int8_t> weights;
  std::vector<float> weight_scale;  // per output channel
  std::vector<std::int32_t> bias;   // in units of input scale * weight scale
  std::vector<float> multiplier;    // per output channel: input scale * weight scale / out scale
  // The second term, rescaled to the output: a fused residual, or an add's second input.
  quant_params second;
  float second_multiplier = 0.0f;
  // A single-multiplier rescale of the first input (add, activation, global_avg_pool).
  float first_multiplier = 0.0f;
};

/// A network in int8: the quant params of every value and every node's int8 form.
struct quantized_network {
  value_quantization values;
  std::vector<quantized_node> nodes;  // like plan.nodes
};

namespace detail {

inline std::int32_t clamp_to_int32(double x) {
  constexpr double limit = 2147483520.0;  // the largest float below 2^31
  return static_cast<std::int32_t>(std::nearbyint(std::clamp(x, -limit, limit)));
}

}  // namespace detail

/// Quantizes every layer of `plan`, given its canonical folded fp32 weights and the quant params
/// of its values (calibrate_quantization(), or read from a calibrated file).
template <class Plan>
quantized_network quantize_network(const Plan& plan, std::span<const float> folded,
                                   const value_quantization& values) {
  if (values.size() != plan.values.size()) {
    throw error("quantization holds params for " + std::to_string(values.size()) +
                " tensors, the network has " + std::to_string(plan.values.size()));
  }
  for (std::size_t v = 0; v < values.size(); ++v) {
    const quant_params& p = values[v];
    if (!(p.scale > 0.0f) || !std::isfinite(p.scale) || p.zero_point < 0 || p.zero_point > 255) {
      throw error("tensor " + std::to_string(v) + " has invalid quant params (scale " +
                  std::to_string(p.scale) + ", zero point " + std::to_string(p.zero_point) + ")");
    }
  }
  quantized_network q{values, std::vector<quantized_node>(plan.nodes.size())};
  auto at = [&](int v) { return values[static_cast<std::size_t>(v)]; };
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const node& n = plan.nodes[i];
    quantized_node& qn = q.nodes[i];
    qn.input = at(n.input());
    qn.output = at(n.output);
    qn.clamp = clamp_for(n.spec.act, qn.output);
    if (n.residual >= 0) {
      qn.second = at(n.residual);
      qn.second_multiplier = qn.second.scale / qn.output.scale;
    }
    switch (n.kind()) {
      case op::add:
        qn.second = at(n.inputs[1]);
        qn.second_multiplier = qn.second.scale / qn.output.scale;
        qn.first_multiplier = qn.input.scale / qn.output.scale;
        break;
      case op::activation:
        qn.first_multiplier = qn.input.scale / qn.output.scale;
        break;
      case op::global_avg_pool:
        qn.first_multiplier = static_cast<float>(
            static_cast<double>(qn.input.scale) /
            (static_cast<double>(qn.output.scale) * static_cast<double>(n.spec.input.height) *
             static_cast<double>(n.spec.input.width)));
        break;
      default:
        break;
    }
    if (!has_weights(n.kind())) continue;
    const auto out = static_cast<std::size_t>(n.spec.output.channels);
    const std::size_t row = n.spec.weight_count() / out;
    const float* w = folded.data() + n.weight_offset;
    const float* b = folded.data() + n.bias_offset;
    qn.weights.resize(n.spec.weight_count());
    qn.weight_scale.resize(out);
    qn.bias.resize(out);
    qn.multiplier.resize(out);
    for (std::size_t o = 0; o < out; ++o) {
      float largest = 0.0f;
      for (std::size_t k = 0; k < row; ++k) largest = std::max(largest, std::abs(w[o * row + k]));
      // Symmetric, [-127, 127]; a channel of zero weights gets scale 1 (its sums are its bias).
      const float scale = largest > 0.0f ? largest / 127.0f : 1.0f;
      qn.weight_scale[o] = scale;
      for (std::size_t k = 0; k < row; ++k) {
        qn.weights[o * row + k] = static_cast<std::int8_t>(
            std::clamp(std::nearbyint(w[o * row + k] / scale), -127.0f, 127.0f));
      }
      const double sum_scale = static_cast<double>(qn.input.scale) * scale;
      qn.bias[o] = detail::clamp_to_int32(static_cast<double>(b[o]) / sum_scale);
      qn.multiplier[o] = static_cast<float>(sum_scale / qn.output.scale);
    }
  }
  return q;
}

}  // namespace lmnet

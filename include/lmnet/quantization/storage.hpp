// SPDX-License-Identifier: Apache-2.0
// A calibrated model stored beside its weights: the quant params of every tensor of the plan as
// one more tensor, `lmnet.quantization` ([tensors, 2]: scale, zero point), so a device loads an
// int8 model without calibration data.
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/io/bind.hpp>
#include <lmnet/io/safetensors_writer.hpp>
#include <lmnet/io/weight_source.hpp>
#include <lmnet/quantization/calibration.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

inline constexpr const char* quantization_tensor_name = "lmnet.quantization";

/// The name and shape of the quant params tensor of `plan`.
template <class Plan>
tensor_spec quantization_tensor(const Plan& plan) {
  return {quantization_tensor_name, {static_cast<std::int64_t>(plan.values.size()), 2}};
}

/// The quant params as the tensor's values: scale and zero point of each plan value in turn.
inline std::vector<float> quantization_values(const value_quantization& q) {
  std::vector<float> out;
  out.reserve(2 * q.size());
  for (const quant_params& p : q) {
    out.push_back(p.scale);
    out.push_back(static_cast<float>(p.zero_point));
  }
  return out;
}

/// Reads the quant params of `plan` from `source`, checking each.
template <class Plan, WeightSource S>
value_quantization read_quantization(const Plan& plan, S& source) {
  const tensor_spec spec = quantization_tensor(plan);
  std::vector<float> raw(2 * plan.values.size());
  try {
    source.read(spec.name, spec.shape, raw);
  } catch (const error& e) {
    throw error(e.reason() +
                ": an int8 model loads a calibrated file (lmnet_quantize, or save_calibrated) or "
                "calibrates itself: load(weights, calibration_images)");
  }
  value_quantization q(plan.values.size());
  for (std::size_t v = 0; v < q.size(); ++v) {
    const float scale = raw[2 * v], zero = raw[2 * v + 1];
    if (!(scale > 0.0f) || !std::isfinite(scale) || !(zero >= 0.0f && zero <= 255.0f) ||
        zero != std::nearbyint(zero)) {
      throw error("tensor '" + spec.name + "': tensor " + std::to_string(v) +
                  " has invalid quant params (scale " + std::to_string(scale) + ", zero point " +
                  std::to_string(zero) + ")");
    }
    q[v] = {scale, static_cast<std::int32_t>(zero)};
  }
  return q;
}

/// Writes a calibrated model: every tensor `plan` reads from `weights` (fp32) and the quant params
/// `values`, to a safetensors file that `model<net, backend::int8<...>>::load` reads.
template <class Plan, WeightSource S>
void save_calibrated(const std::string& path, const Plan& plan, S& weights,
                     const value_quantization& values,
                     const std::map<std::string, std::string>& metadata = {}) {
  if (values.size() != plan.values.size()) {
    throw error("quant params for " + std::to_string(values.size()) + " tensors, the network has " +
                std::to_string(plan.values.size()));
  }
  std::vector<named_tensor> tensors;
  for (const tensor_spec& spec : expected_tensors(plan)) {
    std::size_t count = 1;
    for (const std::int64_t d : spec.shape) count *= static_cast<std::size_t>(d);
    named_tensor t{spec.name, spec.shape, std::vector<float>(count)};
    weights.read(t.name, t.shape, t.values);
    tensors.push_back(std::move(t));
  }
  const tensor_spec q = quantization_tensor(plan);
  tensors.push_back({q.name, q.shape, quantization_values(values)});
  write_safetensors(path, tensors, metadata);
}

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
// Shared by the int8 tests: a network bound to random weights, calibrated on random images and
// quantized, ready for any int8 engine.
#pragma once

#include "test_utils.hpp"

#include <lmnet/lmnet.hpp>
#include <lmnet/quantization/calibration.hpp>
#include <lmnet/quantization/quantize.hpp>

#include <cstdint>
#include <vector>

namespace lmnet::test {

/// A network's folded fp32 weights, calibration and int8 form.
struct quantized_fixture {
  std::vector<float> folded;
  value_quantization values;
  quantized_network network;
};

template <const auto& Plan>
quantized_fixture quantize_random(std::uint32_t seed, int calibration_images = 4,
                                  quantization_options options = {.rule = range_rule::min_max}) {
  quantized_fixture f;
  f.folded.resize(Plan.weight_floats);
  random_weights source{seed};
  bind_weights(Plan, source, std::span<float>(f.folded));
  const auto images =
      random_vector(Plan.input_shape().size() * static_cast<std::size_t>(calibration_images),
                    seed + 7, 0.0f, 1.0f);
  f.values = calibrate_quantization(Plan, std::span<const float>(f.folded), images, options);
  f.network = quantize_network(Plan, std::span<const float>(f.folded), f.values);
  return f;
}

}  // namespace lmnet::test

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/kernels.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/error.hpp>
#include <lmnet/quantization/quantize.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lmnet {

/// Runs a plan node by node with the int8 reference kernels: the input quantized on entry, uint8
/// tensors in an arena placed as the fp32 plan's, the output dequantized on exit. The oracle of
/// every other int8 backend.
template <const auto& Plan>
class engine<backend::int8<backend::reference>, Plan> {
 public:
  static constexpr bool quantized = true;

  explicit engine(int max_batch)
      : max_batch_(max_batch),
        arena_(Plan.arena_floats * static_cast<std::size_t>(max_batch)),
        input_(Plan.input_shape().size() * static_cast<std::size_t>(max_batch)),
        output_(Plan.output_shape().size() * static_cast<std::size_t>(max_batch)) {}

  /// Takes the network in int8 (quantization/quantize.hpp).
  void load(quantized_network q) {
    if (q.nodes.size() != Plan.nodes.size() || q.values.size() != Plan.values.size()) {
      throw error("the int8 network does not match the plan");
    }
    q_ = std::move(q);
  }

  /// Runs `batch` images and returns a view of the dequantized output.
  tensor_view<const float> run(const float* images, int batch) {
    if (batch < 1 || batch > max_batch_) {
      throw error("batch of " + std::to_string(batch) + " images, the engine was built for 1 to " +
                  std::to_string(max_batch_));
    }
    if (q_.nodes.empty()) throw error("the int8 engine has no weights: load them first");
    const quant_params& entry = q_.values[static_cast<std::size_t>(Plan.input_value)];
    const std::size_t in_size = Plan.input_shape().size() * static_cast<std::size_t>(batch);
    for (std::size_t i = 0; i < in_size; ++i) input_[i] = quantize(images[i], entry);
    std::uint8_t* arena = arena_.data();
    const std::uint8_t* input_codes = input_.data();
    for (std::size_t i = 0; i < Plan.nodes.size(); ++i) {
      const node& n = Plan.nodes[i];
      if (n.elided) continue;
      std::array<tensor_view<const std::uint8_t>, max_node_inputs> inputs{};
      for (int k = 0; k < n.input_count; ++k) {
        inputs[static_cast<std::size_t>(k)] =
            Plan.view(n.inputs[static_cast<std::size_t>(k)],
                      static_cast<const std::uint8_t*>(arena), input_codes, batch);
      }
      tensor_view<const std::uint8_t> residual{};
      if (n.residual >= 0) {
        residual =
            Plan.view(n.residual, static_cast<const std::uint8_t*>(arena), input_codes, batch);
      }
      const reference::int8_kernel_args args{
          n,
          q_.nodes[i],
          {inputs.data(), static_cast<std::size_t>(n.input_count)},
          Plan.view(n.output, arena, input_codes, batch),
          residual};
      with_kernel<backend::int8<backend::reference>, Plan>(
          n.kind(), [&](auto k) { run_kernel<decltype(k)>(args); });
    }
    const tensor_view<const std::uint8_t> out =
        Plan.view(Plan.output_value, static_cast<const std::uint8_t*>(arena), input_codes, batch);
    const quant_params& op = q_.values[static_cast<std::size_t>(Plan.output_value)];
    std::size_t k = 0;
    for (int n = 0; n < out.batch; ++n)
      for (int y = 0; y < out.height; ++y)
        for (int x = 0; x < out.width; ++x)
          for (int c = 0; c < out.channels; ++c) output_[k++] = dequantize(out(n, y, x, c), op);
    const shape s = Plan.output_shape();
    return {output_.data(), batch, s.height, s.width, s.channels, s.channels};
  }

  int max_batch() const { return max_batch_; }
  const quantized_network& network() const { return q_; }

 private:
  int max_batch_;
  std::vector<std::uint8_t> arena_;
  std::vector<std::uint8_t> input_;
  std::vector<float> output_;
  quantized_network q_;
};

}  // namespace lmnet

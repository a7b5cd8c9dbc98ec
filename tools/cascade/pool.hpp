// SPDX-License-Identifier: Apache-2.0
// The Fashion-MNIST model pool of the cascade experiment, behind one runtime type so that the
// tools can pick models by name, in fp32 or in int8.
#pragma once

#include "fashion_mnist_models.hpp"  // support/: the presets the models were trained as

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>
#include <lmnet/quantization/storage.hpp>

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmnet::tools {

// The backend every model of the experiment runs on: the fast CPU one, as on a device.
using experiment_backend = backend::simd<>;
inline constexpr std::string_view experiment_backend_name = "simd";
// The same kernels in int8 (docs/quantization.md).
using experiment_int8_backend = backend::int8<experiment_backend>;
inline constexpr std::string_view experiment_int8_backend_name = "int8";

/// One pool model, loaded and ready, whatever its network type and backend: a Classifier.
class any_model {
 public:
  /// The network `Net` in fp32 with the weights of a safetensors file (PyTorch state_dict names).
  template <const auto& Net>
  static any_model make(const std::string& weights_path) {
    auto m = std::make_unique<holder<Net, experiment_backend>>();
    m->network.load(safetensors(weights_path));
    return any_model(std::move(m));
  }

  /// The network `Net` in int8 from a calibrated file (`calibrate_int8`).
  template <const auto& Net>
  static any_model make_int8(const std::string& calibrated_path) {
    auto m = std::make_unique<holder<Net, experiment_int8_backend>>();
    m->network.load(safetensors(calibrated_path));
    return any_model(std::move(m));
  }

  std::span<const float> infer(std::span<const float> input) { return impl_->infer(input); }

 private:
  struct base {
    virtual ~base() = default;
    virtual std::span<const float> infer(std::span<const float> input) = 0;
  };
  template <const auto& Net, class Backend>
  struct holder final : base {
    lmnet::model<Net, Backend> network;
    std::span<const float> infer(std::span<const float> input) override {
      return network.infer(input);
    }
  };
  explicit any_model(std::unique_ptr<base> impl) : impl_(std::move(impl)) {}
  std::unique_ptr<base> impl_;
};

/// Calibrates `Net` for int8 on `images` (preprocessed inputs, one after another) and writes the
/// calibrated file an int8 model loads: its fp32 weights and the quant params of every tensor.
template <const auto& Net>
void calibrate_int8(const std::string& weights_path, std::span<const float> images,
                    const std::string& calibrated_path,
                    const std::map<std::string, std::string>& metadata) {
  constexpr auto& plan = plan_of<Net>;
  safetensors weights(weights_path);
  aligned_buffer folded(plan.weight_floats);
  bind_weights(plan, weights, folded.span());
  const value_quantization values = calibrate_quantization(plan, folded.span(), images);
  save_calibrated(calibrated_path, plan, weights, values, metadata);
}

struct pool_member {
  std::string_view name;
  std::size_t macs;
  std::size_t params;
  // The bytes of packed weights an inference reads, in fp32 and in int8 (each kernel's layout:
  // weights, biases, and in int8 the rescaling multipliers).
  std::size_t weight_bytes, int8_weight_bytes;
  any_model (*make)(const std::string& weights_path);
  any_model (*make_int8)(const std::string& calibrated_path);
  void (*calibrate_int8)(const std::string& weights_path, std::span<const float> images,
                         const std::string& calibrated_path,
                         const std::map<std::string, std::string>& metadata);
};

template <const auto& Net>
constexpr pool_member member(std::string_view name) {
  using fp32_engine = lmnet::model<Net, experiment_backend>::engine_type;
  using int8_engine = lmnet::model<Net, experiment_int8_backend>::engine_type;
  return {name,
          plan_of<Net>.macs(),
          plan_of<Net>.params(),
          fp32_engine::schedule.weight_floats * sizeof(float),
          int8_engine::packing.bytes,
          &any_model::make<Net>,
          &any_model::make_int8<Net>,
          &calibrate_int8<Net>};
}

/// Every model trained on Fashion-MNIST (tools/lmnet_tools/models.py), fewest MACs first. The
/// experiment uses those whose weights exist; the large model is chosen by name.
inline const std::vector<pool_member>& pool() {
  static const std::vector<pool_member> members = {
      member<fashion_mnist::l_mobilenet>("l_mobilenet"),
      member<fashion_mnist::plain_cnn>("plain_cnn"),
      member<fashion_mnist::shufflenet_v2_x0_5_cifar>("shufflenet_v2_x0_5_cifar"),
      member<fashion_mnist::resnet8>("resnet8"),
      member<fashion_mnist::mobilenet_v2_x0_5_cifar>("mobilenet_v2_x0_5_cifar"),
      member<fashion_mnist::shufflenet_v2_cifar>("shufflenet_v2_cifar"),
      member<fashion_mnist::mobilenet_v2_cifar>("mobilenet_v2_cifar"),
  };
  return members;
}

/// The large model the cascades are measured against, unless told otherwise.
inline constexpr std::string_view default_large_model = "mobilenet_v2_cifar";

inline const pool_member& find_member(std::string_view name) {
  for (const pool_member& m : pool()) {
    if (m.name == name) return m;
  }
  throw error("no model named '" + std::string(name) + "' in the pool");
}

}  // namespace lmnet::tools

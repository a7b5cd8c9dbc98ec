// SPDX-License-Identifier: Apache-2.0
// The Fashion-MNIST model pool of the cascade experiment, behind one runtime type so that the
// tools can pick models by name.
#pragma once

#include "fashion_mnist_models.hpp"  // support/: the presets the models were trained as

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmnet::tools {

// The backend every model of the experiment runs on: the fast CPU one, as on a device.
using experiment_backend = backend::simd<>;
inline constexpr std::string_view experiment_backend_name = "simd";

/// One pool model, loaded and ready, whatever its network type: a Classifier.
class any_model {
 public:
  /// The network `Net` with the weights of a safetensors file (PyTorch state_dict names).
  template <const auto& Net>
  static any_model make(const std::string& weights_path) {
    auto m = std::make_unique<holder<Net>>();
    m->network.load(safetensors(weights_path));
    return any_model(std::move(m));
  }

  std::span<const float> infer(std::span<const float> input) { return impl_->infer(input); }

 private:
  struct base {
    virtual ~base() = default;
    virtual std::span<const float> infer(std::span<const float> input) = 0;
  };
  template <const auto& Net>
  struct holder final : base {
    lmnet::model<Net, experiment_backend> network;
    std::span<const float> infer(std::span<const float> input) override {
      return network.infer(input);
    }
  };
  explicit any_model(std::unique_ptr<base> impl) : impl_(std::move(impl)) {}
  std::unique_ptr<base> impl_;
};

struct pool_member {
  std::string_view name;
  std::size_t macs;
  std::size_t params;
  any_model (*make)(const std::string& weights_path);
};

template <const auto& Net>
constexpr pool_member member(std::string_view name) {
  return {name, plan_of<Net>.macs(), plan_of<Net>.params(), &any_model::make<Net>};
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

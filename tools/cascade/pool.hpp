// SPDX-License-Identifier: Apache-2.0
// The Fashion-MNIST model pool of the cascade experiment, behind one runtime type so that the
// tools can pick models by name.
#pragma once

#include <lmnet/lmnet.hpp>

#if __has_include(<lmnet/backend/simd.hpp>)
#include <lmnet/backend/simd.hpp>
#endif

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lmnet::tools {

// The backend every model of the experiment runs on: the fastest one this tree has.
#if __has_include(<lmnet/backend/simd.hpp>)
using experiment_backend = backend::simd<>;
inline constexpr std::string_view experiment_backend_name = "simd";
#else
using experiment_backend = backend::reference;
inline constexpr std::string_view experiment_backend_name = "reference";
#endif

// The presets the models were trained as (tools/lmnet_tools/models.py, FASHION_MNIST).
inline constexpr auto plain_cnn = models::plain_cnn({.channels = 1});
inline constexpr auto resnet8 = models::resnet_cifar({.channels = 1});
inline constexpr auto shufflenet_v2_x0_5_cifar = models::shufflenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});
inline constexpr auto mobilenet_v2_x0_5_cifar = models::mobilenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});
inline constexpr auto l_mobilenet = models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto shufflenet_v2_cifar =
    models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});

/// One pool model, loaded and ready, whatever its network type: a Classifier.
class any_model {
 public:
  template <const auto& Net>
  static any_model make(tensor_map& weights) {
    auto m = std::make_unique<holder<Net>>();
    m->network.load(weights);
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
  any_model (*make)(tensor_map&);
};

template <const auto& Net>
constexpr pool_member member(std::string_view name) {
  return {name, plan_of<Net>.macs(), plan_of<Net>.params(), &any_model::make<Net>};
}

/// The pool, fewest MACs first; the last is the large model the cascades are measured against.
inline const std::vector<pool_member>& pool() {
  static const std::vector<pool_member> members = {
      member<l_mobilenet>("l_mobilenet"),
      member<plain_cnn>("plain_cnn"),
      member<shufflenet_v2_x0_5_cifar>("shufflenet_v2_x0_5_cifar"),
      member<resnet8>("resnet8"),
      member<mobilenet_v2_x0_5_cifar>("mobilenet_v2_x0_5_cifar"),
      member<shufflenet_v2_cifar>("shufflenet_v2_cifar"),
      member<mobilenet_v2_cifar>("mobilenet_v2_cifar"),
  };
  return members;
}

inline constexpr std::string_view large_model = "mobilenet_v2_cifar";

inline const pool_member& find_member(std::string_view name) {
  for (const pool_member& m : pool()) {
    if (m.name == name) return m;
  }
  throw error("no model named '" + std::string(name) + "' in the pool");
}

}  // namespace lmnet::tools

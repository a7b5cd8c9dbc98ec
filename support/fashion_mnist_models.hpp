// SPDX-License-Identifier: Apache-2.0
// The Fashion-MNIST models trained by tools/train.py (weights in examples/weights/fashion_mnist/),
// as lmnet presets: one grey 32x32 input channel, 10 classes. The names are those of
// tools/lmnet_tools/models.py's FASHION_MNIST and of the weight files.
#pragma once

#include <lmnet/lmnet.hpp>  // models and backends (in this order, -Wshadow is quiet)

#include <array>
#include <string_view>

namespace fashion_mnist {

inline constexpr auto l_mobilenet = lmnet::models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto mobilenet_v2_cifar =
    lmnet::models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_cifar =
    lmnet::models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto plain_cnn = lmnet::models::plain_cnn({.channels = 1});
inline constexpr auto resnet8 = lmnet::models::resnet_cifar({.channels = 1});
inline constexpr auto shufflenet_v2_x0_5_cifar = lmnet::models::shufflenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});
inline constexpr auto mobilenet_v2_x0_5_cifar = lmnet::models::mobilenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});

inline constexpr std::array<std::string_view, 7> model_names = {
    "l_mobilenet", "mobilenet_v2_cifar",       "shufflenet_v2_cifar",    "plain_cnn",
    "resnet8",     "shufflenet_v2_x0_5_cifar", "mobilenet_v2_x0_5_cifar"};

/// Calls `f.template operator()<net>()` with the network called `name`; false if there is none.
template <class F>
bool with_model(std::string_view name, F&& f) {
  if (name == "l_mobilenet") return f.template operator()<l_mobilenet>(), true;
  if (name == "mobilenet_v2_cifar") return f.template operator()<mobilenet_v2_cifar>(), true;
  if (name == "shufflenet_v2_cifar") return f.template operator()<shufflenet_v2_cifar>(), true;
  if (name == "plain_cnn") return f.template operator()<plain_cnn>(), true;
  if (name == "resnet8") return f.template operator()<resnet8>(), true;
  if (name == "shufflenet_v2_x0_5_cifar")
    return f.template operator()<shufflenet_v2_x0_5_cifar>(), true;
  if (name == "mobilenet_v2_x0_5_cifar")
    return f.template operator()<mobilenet_v2_x0_5_cifar>(), true;
  return false;
}

}  // namespace fashion_mnist

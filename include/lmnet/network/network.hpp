// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/shape.hpp>
#include <lmnet/network/combinators.hpp>

namespace lmnet {

/// A network description: its input shape and its layers, in order, indexed like `nn.Sequential`.
///
///     inline constexpr auto net = lmnet::network{lmnet::input{32, 32, 3},
///         lmnet::conv2d{.out = 16, .stride = 2}, lmnet::batch_norm{}, lmnet::relu6,
///         lmnet::global_avg_pool{}, lmnet::dense{.out = 10}};
template <class... Layers>
struct network {
  shape input_shape;
  sequential_t<Layers...> layers;

  constexpr network(shape in, Layers... l) : input_shape(in), layers{{l...}} {}
};

/// The input of a network (height, width, channels).
using input = shape;

}  // namespace lmnet

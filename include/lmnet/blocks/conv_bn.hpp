// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/activation.hpp>
#include <lmnet/layers/batch_norm.hpp>
#include <lmnet/network/combinators.hpp>

namespace lmnet {

/// A weight layer, its batch norm and its activation: torchvision's `Conv2dNormActivation`
/// (children 0, 1, 2). All three run as one fused layer.
template <class Layer>
constexpr auto conv_bn(Layer layer, activation_layer act = {}) {
  return sequential(layer, batch_norm{}, act);
}

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/layers/layer.hpp>

#include <cmath>
#include <cstddef>
#include <span>

namespace lmnet {

/// Batch normalisation in inference form (PyTorch `nn.BatchNorm2d`). It must follow a weight
/// layer, into which it is folded when weights are loaded; it never runs as a layer of its own.
/// Tensors read: `<name>.weight`, `.bias`, `.running_mean`, `.running_var` (C).
struct batch_norm {
  float eps = 1e-5f;

  constexpr layer_spec apply(shape in_shape, detail::message& why) const {
    layer_spec spec{.kind = op::batch_norm, .input = in_shape, .output = in_shape};
    spec.eps = eps;
    if (!(eps > 0.0f)) return detail::fail(spec, why, "eps must be > 0");
    return spec;
  }
};

/// Folds y = gamma * (x - mean) / sqrt(var + eps) + beta into the producing layer:
/// w'[o][...] = w[o][...] * s[o], b'[o] = (b[o] - mean[o]) * s[o] + beta[o], s = gamma / sqrt(var +
/// eps). `weights` holds `channels` rows of equal length, one per output channel.
inline void fold_batch_norm(std::span<float> weights, std::span<float> bias,
                            std::span<const float> gamma, std::span<const float> beta,
                            std::span<const float> mean, std::span<const float> variance,
                            float eps) {
  const std::size_t channels = bias.size();
  const std::size_t row = weights.size() / channels;
  for (std::size_t o = 0; o < channels; ++o) {
    // Fold in double so the folded weights round once, like PyTorch's own fp32 BN evaluation.
    const double scale = static_cast<double>(gamma[o]) /
                         std::sqrt(static_cast<double>(variance[o]) + static_cast<double>(eps));
    for (std::size_t i = 0; i < row; ++i) {
      weights[o * row + i] = static_cast<float>(weights[o * row + i] * scale);
    }
    bias[o] = static_cast<float>((static_cast<double>(bias[o]) - mean[o]) * scale + beta[o]);
  }
}

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/io/weight_source.hpp>
#include <lmnet/layers/batch_norm.hpp>
#include <lmnet/network/node.hpp>

#include <cmath>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

// The canonical folded layout every backend packs from, one block per weight layer at the
// offsets the plan assigns:
//   convolutions  weights (O, KH, KW, I/groups), then bias (O)
//   dense         weights (O, H*W*C) in (h, w, c) order, then bias (O)
// Batch norm is already folded in; a layer without bias gets zeros (or the folded shift).

namespace detail {

inline void check_finite(const std::string& name, std::span<const float> data) {
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (!std::isfinite(data[i])) {
      throw error("tensor '" + name + "' has a non-finite value (" + std::to_string(data[i]) +
                  ") at index " + std::to_string(i));
    }
  }
}

template <WeightSource S>
void read_checked(S& source, const std::string& name, std::span<const std::int64_t> shape,
                  std::span<float> out) {
  source.read(name, shape, out);
  check_finite(name, out);
}

}  // namespace detail

/// Reads every tensor the plan needs from `source` by PyTorch name, checks it, reorders it to the
/// canonical layout, folds batch norm, and writes it into `folded` (plan.weight_floats floats).
/// Throws `lmnet::error` naming the tensor on any missing, misshapen, extra or non-finite tensor.
template <class Plan, WeightSource S>
void bind_weights(const Plan& plan, S& source, std::span<float> folded) {
  if (folded.size() < plan.weight_floats) throw error("weight buffer too small");
  std::vector<float> raw;
  for (const node& n : plan.nodes) {
    if (!has_weights(n.kind())) continue;
    const layer_spec& s = n.spec;
    const int out = s.output.channels;
    float* weights = folded.data() + n.weight_offset;
    std::span<float> bias(folded.data() + n.bias_offset, static_cast<std::size_t>(out));
    raw.resize(s.weight_count());

    if (n.kind() == op::dense) {
      // PyTorch flattens (c, h, w); lmnet's tensors are (h, w, c).
      const shape in = s.input;
      const std::int64_t dims[2] = {out, static_cast<std::int64_t>(in.size())};
      detail::read_checked(source, n.name.str("weight"), dims, raw);
      for (int o = 0; o < out; ++o) {
        for (int c = 0; c < in.channels; ++c) {
          for (int y = 0; y < in.height; ++y) {
            for (int x = 0; x < in.width; ++x) {
              weights[static_cast<std::size_t>(o) * in.size() +
                      static_cast<std::size_t>((y * in.width + x) * in.channels + c)] =
                  raw[static_cast<std::size_t>(o) * in.size() +
                      static_cast<std::size_t>((c * in.height + y) * in.width + x)];
            }
          }
        }
      }
    } else {
      // PyTorch (O, I/g, KH, KW) to lmnet (O, KH, KW, I/g).
      const int ig = s.input.channels / s.groups, kh = s.kernel.height, kw = s.kernel.width;
      const std::int64_t dims[4] = {out, ig, kh, kw};
      detail::read_checked(source, n.name.str("weight"), dims, raw);
      for (int o = 0; o < out; ++o) {
        for (int i = 0; i < ig; ++i) {
          for (int y = 0; y < kh; ++y) {
            for (int x = 0; x < kw; ++x) {
              weights[((o * kh + y) * kw + x) * ig + i] = raw[((o * ig + i) * kh + y) * kw + x];
            }
          }
        }
      }
    }

    const std::int64_t channels[1] = {out};
    if (n.has_bias) {
      detail::read_checked(source, n.name.str("bias"), channels, bias);
    } else {
      std::fill(bias.begin(), bias.end(), 0.0f);
    }
    if (n.has_norm) {
      std::vector<float> gamma(bias.size()), beta(bias.size()), mean(bias.size()),
          variance(bias.size());
      detail::read_checked(source, n.norm_name.str("weight"), channels, gamma);
      detail::read_checked(source, n.norm_name.str("bias"), channels, beta);
      detail::read_checked(source, n.norm_name.str("running_mean"), channels, mean);
      detail::read_checked(source, n.norm_name.str("running_var"), channels, variance);
      for (std::size_t c = 0; c < variance.size(); ++c) {
        if (!(variance[c] + s.eps > 0.0f)) {
          throw error("tensor '" + n.norm_name.str("running_var") + "' has a negative variance (" +
                      std::to_string(variance[c]) + ") at index " + std::to_string(c));
        }
      }
      fold_batch_norm({weights, s.weight_count()}, bias, gamma, beta, mean, variance, s.eps);
    }
  }
  source.finish();
}

}  // namespace lmnet

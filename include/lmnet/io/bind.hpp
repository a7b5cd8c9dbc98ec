// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/io/weight_source.hpp>
#include <lmnet/layers/batch_norm.hpp>
#include <lmnet/network/node.hpp>

#include <array>
#include <charconv>
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

// "model.safetensors: " for a source with an origin, "" for one without.
template <class S>
std::string origin_prefix(const S& source) {
  if constexpr (requires { source.origin(); }) {
    return std::string(source.origin()) + ": ";
  } else {
    return {};
  }
}

template <WeightSource S>
void read_checked(S& source, const std::string& name, std::span<const std::int64_t> shape,
                  std::span<float> out) {
  source.read(name, shape, out);
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (!std::isfinite(out[i])) {
      throw error(origin_prefix(source) + "tensor '" + name + "' has a non-finite value (" +
                  std::to_string(out[i]) + ") at index " + std::to_string(i));
    }
  }
}

// The shortest decimal that reads back as `v`: "-2", "1e-05".
inline std::string shortest(float v) {
  char text[32];
  return {text, std::to_chars(text, text + sizeof text, v).ptr};
}

// PyTorch's shape of a weight layer's weight: (O, H*W*C) for dense, (O, I/groups, KH, KW) else.
// Held inline: binding allocates only its buffers.
class weight_shape {
 public:
  explicit weight_shape(const node& n) {
    const layer_spec& s = n.spec;
    if (n.kind() == op::dense) {
      dims_ = {s.output.channels, static_cast<std::int64_t>(s.input.size())};
      rank_ = 2;
    } else {
      dims_ = {s.output.channels, s.input.channels / s.groups, s.kernel.height, s.kernel.width};
    }
  }
  std::span<const std::int64_t> dims() const { return {dims_.data(), rank_}; }

 private:
  std::array<std::int64_t, 4> dims_{};
  std::size_t rank_ = 4;
};

}  // namespace detail

/// Every tensor the plan reads, by PyTorch `state_dict` name, in reading order: each weight
/// layer's weight and bias (when it has one), then its batch norm's weight, bias, running_mean
/// and running_var.
template <class Plan>
std::vector<tensor_spec> expected_tensors(const Plan& plan) {
  std::vector<tensor_spec> out;
  for (const node& n : plan.nodes) {
    if (!has_weights(n.kind())) continue;
    const std::vector<std::int64_t> channels{n.spec.output.channels};
    const detail::weight_shape weight(n);
    out.push_back({n.name.str("weight"), {weight.dims().begin(), weight.dims().end()}});
    if (n.has_bias) out.push_back({n.name.str("bias"), channels});
    if (n.has_norm) {
      for (const char* tensor : {"weight", "bias", "running_mean", "running_var"}) {
        out.push_back({n.norm_name.str(tensor), channels});
      }
    }
  }
  return out;
}

/// Reads every tensor the plan needs from `source` by PyTorch name, checks it, reorders it to the
/// canonical layout, folds batch norm, and writes it into `folded` (plan.weight_floats floats).
/// Throws `lmnet::error` naming the tensor on any missing, misshapen, extra or non-finite tensor,
/// and on a batch-norm variance with variance + eps <= 0. `also_read`: tensors the caller reads
/// from the same source itself (an int8 model's quant params), expected beside the weights.
template <class Plan, WeightSource S>
void bind_weights(const Plan& plan, S& source, std::span<float> folded,
                  std::span<const tensor_spec> also_read = {}) {
  if (folded.size() < plan.weight_floats) throw error("weight buffer too small");
  if constexpr (requires { source.expect(std::span<const tensor_spec>{}); }) {
    std::vector<tensor_spec> expected = expected_tensors(plan);
    expected.insert(expected.end(), also_read.begin(), also_read.end());
    source.expect(expected);
  }
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
      detail::read_checked(source, n.name.str("weight"), detail::weight_shape(n).dims(), raw);
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
      detail::read_checked(source, n.name.str("weight"), detail::weight_shape(n).dims(), raw);
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
          throw error(
              detail::origin_prefix(source) + "tensor '" + n.norm_name.str("running_var") +
              "' has variance " + detail::shortest(variance[c]) + " at index " + std::to_string(c) +
              ": batch norm needs variance + eps > 0 (eps = " + detail::shortest(s.eps) + ")");
        }
      }
      fold_batch_norm({weights, s.weight_count()}, bias, gamma, beta, mean, variance, s.eps);
    }
  }
  source.finish();
}

}  // namespace lmnet

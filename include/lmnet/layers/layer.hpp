// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/activation.hpp>
#include <lmnet/core/shape.hpp>
#include <lmnet/detail/message.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>

namespace lmnet {

/// Every primitive operation a network lowers to. Composite blocks (inverted residual, L-Mobilenet
/// bottleneck, ShuffleNetV2 unit) are made of these.
enum class op : std::uint8_t {
  conv2d,            // any kernel, stride, padding and groups (the stem)
  depthwise_conv2d,  // one filter per channel
  pointwise_conv2d,  // 1x1, optionally grouped
  dense,             // fully connected over the flattened (h, w, c) image
  batch_norm,        // folded into the preceding weight layer when the plan is compiled
  activation,        // fused into the producing layer when the plan is compiled
  max_pool2d,
  global_avg_pool,
  add,  // elementwise sum of two tensors (residual)
  concat,
  channel_shuffle,
  channel_slice,  // a view of a channel range
  softmax,        // the last: op_count follows it
};

/// How many ops there are: op(0) .. op(op_count - 1).
inline constexpr int op_count = static_cast<int>(op::softmax) + 1;

constexpr const char* op_name(op kind) {
  switch (kind) {
    case op::conv2d:
      return "conv2d";
    case op::depthwise_conv2d:
      return "depthwise_conv2d";
    case op::pointwise_conv2d:
      return "pointwise_conv2d";
    case op::dense:
      return "dense";
    case op::batch_norm:
      return "batch_norm";
    case op::activation:
      return "activation";
    case op::max_pool2d:
      return "max_pool2d";
    case op::global_avg_pool:
      return "global_avg_pool";
    case op::add:
      return "add";
    case op::concat:
      return "concat";
    case op::channel_shuffle:
      return "channel_shuffle";
    case op::channel_slice:
      return "channel_slice";
    case op::softmax:
      return "softmax";
  }
  return "?";
}
static_assert(
    op_name(static_cast<op>(op_count - 1))[0] != '?' &&
        op_name(static_cast<op>(op_count))[0] == '?',
    "lmnet: op_count must count every op: a new op goes before softmax, or moves op_count");

/// Layers that own weights: the ones counted as a network's "weight layers".
constexpr bool has_weights(op kind) {
  return kind == op::conv2d || kind == op::depthwise_conv2d || kind == op::pointwise_conv2d ||
         kind == op::dense;
}

/// Whether a layer has a bias tensor of its own. `automatic` means: yes, unless a batch_norm
/// follows (the usual PyTorch export of conv + BN has `bias=False`).
struct bias_option {
  std::int8_t value = -1;
  constexpr bias_option() = default;
  constexpr bias_option(bool enabled) : value(enabled ? 1 : 0) {}  // NOLINT: implicit by design
  constexpr bool automatic() const { return value < 0; }
  constexpr bool resolve(bool batch_norm_follows) const {
    return automatic() ? !batch_norm_follows : value == 1;
  }
};

/// What a layer's shape rule produces: the operation with its resolved parameters and its output
/// shape. A rule that cannot apply to its input says why in its `why` argument.
struct layer_spec {
  op kind = op::conv2d;
  shape input{};
  shape output{};
  extent2 kernel{1, 1};
  extent2 stride{1, 1};
  extent2 padding{0, 0};
  int groups = 1;         // conv groups, or channel_shuffle groups
  int channel_begin = 0;  // channel_slice
  bias_option bias{};     // weight layers
  activation act = activation::none;
  float eps = 1e-5f;  // batch_norm

  /// Trainable parameters as PyTorch counts them (weights and bias; batch norm adds 2 per channel).
  constexpr std::size_t weight_count() const {
    if (kind == op::dense) return input.size() * static_cast<std::size_t>(output.channels);
    if (!has_weights(kind)) return 0;
    return static_cast<std::size_t>(output.channels) * static_cast<std::size_t>(kernel.height) *
           static_cast<std::size_t>(kernel.width) *
           static_cast<std::size_t>(input.channels / groups);
  }
  /// Multiply-accumulates of one image (conv and dense only).
  constexpr std::size_t macs() const {
    if (kind == op::dense) return weight_count();
    if (!has_weights(kind)) return 0;
    return weight_count() * static_cast<std::size_t>(output.height) *
           static_cast<std::size_t>(output.width);
  }
};

namespace detail {

constexpr layer_spec fail(layer_spec spec, message& why, const char* reason) {
  why << reason;
  return spec;
}

/// Shared shape rule of every sliding-window layer (convolutions and pooling).
constexpr layer_spec window_rule(layer_spec spec, message& why) {
  const shape in = spec.input;
  if (spec.kernel.height < 1 || spec.kernel.width < 1)
    return fail(spec, why, "kernel must be >= 1");
  if (spec.stride.height < 1 || spec.stride.width < 1)
    return fail(spec, why, "stride must be >= 1");
  if (spec.padding.height < 0 || spec.padding.width < 0)
    return fail(spec, why, "padding must be >= 0");
  if (in.height + 2 * spec.padding.height < spec.kernel.height ||
      in.width + 2 * spec.padding.width < spec.kernel.width) {
    why << "spatial size too small: input " << in.height << "x" << in.width << " with padding "
        << spec.padding.height << "x" << spec.padding.width << " is smaller than the "
        << spec.kernel.height << "x" << spec.kernel.width << " kernel";
    return spec;
  }
  spec.output.height =
      window_output(in.height, spec.kernel.height, spec.stride.height, spec.padding.height);
  spec.output.width =
      window_output(in.width, spec.kernel.width, spec.stride.width, spec.padding.width);
  return spec;
}

/// Checks the optional `.in` a user wrote against the channels the layer actually receives.
constexpr layer_spec check_in(layer_spec spec, int declared_in, message& why) {
  if (declared_in != 0 && declared_in != spec.input.channels) {
    why << "channel mismatch: declared .in = " << declared_in << " but the input has "
        << spec.input.channels << " channels";
  }
  return spec;
}

constexpr layer_spec check_groups(layer_spec spec, int out, message& why) {
  if (spec.groups < 1) return fail(spec, why, "groups must be >= 1");
  if (out < 1) return fail(spec, why, ".out must be >= 1");
  if (spec.input.channels % spec.groups != 0) {
    why << "groups = " << spec.groups << " does not divide the " << spec.input.channels
        << " input channels";
  } else if (out % spec.groups != 0) {
    why << "groups = " << spec.groups << " does not divide the " << out << " output channels";
  }
  return spec;
}

}  // namespace detail

/// A primitive layer: a descriptor with a shape rule, `apply(input shape, why)`.
template <class L>
concept Layer = requires(const L& layer, shape in, detail::message& why) {
  { layer.apply(in, why) } -> std::same_as<layer_spec>;
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
// XNNPACK's subgraph API running whole networks: the runtime TFLite's XNNPACK delegate hands a
// model to, here given the network by walking lmnet's compiled plan (plan_of<Net>): each weight
// layer one convolution or fully connected node on lmnet's folded weights (batch norm folded),
// ReLU and ReLU6 as the node's output clamp, a residual add as an add node carrying the clamp,
// NHWC tensors. One thread runs on the caller (no pthreadpool), more on a pthreadpool. A network
// needing a node this XNNPACK lacks (Debian's has no concatenate, split or transpose) is reported
// unsupported. Timed like bench_simd's networks; --agreement compares outputs with lmnet's.
// With --int8 it runs the networks in XNNPACK's int8 instead (xnnpack_int8_network below).
#include "network_peer.hpp"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

namespace {

using namespace lmnet;

void check(xnn_status status, const char* what) {
  if (status != xnn_status_success) {
    throw bench::unsupported(std::string("XNNPACK refused ") + what + " (status " +
                             std::to_string(static_cast<int>(status)) + ")");
  }
}

std::uint32_t u32(int v) {
  return static_cast<std::uint32_t>(v);
}

// The padding below and to the right that gives the plan's output size.
std::uint32_t pad_after(int in, int out, int kernel, int stride, int pad) {
  return u32((out - 1) * stride + kernel - in - pad);
}

template <const auto& Net>
class xnnpack_network {
 public:
  xnnpack_network(std::span<const float> folded, int threads)
      : weights_(folded.begin(), folded.end()) {
    static const bool initialized = xnn_initialize(nullptr) == xnn_status_success;
    if (!initialized) throw bench::unsupported("xnn_initialize failed");
    constexpr auto& plan = plan_of<Net>;
    output_.resize(plan.output_shape().size());
    xnn_subgraph_t graph = nullptr;
    check(xnn_create_subgraph(2, 0, &graph), "a subgraph");
    std::unique_ptr<xnn_subgraph, decltype(&xnn_delete_subgraph)> owner(graph, xnn_delete_subgraph);
    std::vector<std::uint32_t> ids(plan.values.size(), XNN_INVALID_VALUE_ID);
    auto define = [&](int v, std::vector<std::size_t> dims, std::uint32_t external,
                      std::uint32_t flags) {
      check(xnn_define_tensor_value(graph, xnn_datatype_fp32, dims.size(), dims.data(), nullptr,
                                    external, flags, &ids[static_cast<std::size_t>(v)]),
            "a tensor");
      return ids[static_cast<std::size_t>(v)];
    };
    auto nhwc = [&](int v) {
      const shape s = plan.value_at(v).image;
      return std::vector<std::size_t>{1, static_cast<std::size_t>(s.height),
                                      static_cast<std::size_t>(s.width),
                                      static_cast<std::size_t>(s.channels)};
    };
    auto constant = [&](std::vector<std::size_t> dims, const float* data) {
      std::uint32_t id = 0;
      check(xnn_define_tensor_value(graph, xnn_datatype_fp32, dims.size(), dims.data(), data,
                                    XNN_INVALID_VALUE_ID, 0, &id),
            "a weight tensor");
      return id;
    };
    auto internal = [&](std::vector<std::size_t> dims) {
      return constant(std::move(dims), nullptr);
    };
    define(plan.input_value, nhwc(plan.input_value), 0, XNN_VALUE_FLAG_EXTERNAL_INPUT);
    auto id_of = [&](int v) { return ids[static_cast<std::size_t>(v)]; };
    constexpr float inf = std::numeric_limits<float>::infinity();

    for (const node& n : plan.nodes) {
      const layer_spec& s = n.spec;
      const float lo = s.act == activation::none ? -inf : 0.0f;
      const float hi = s.act == activation::relu6 ? 6.0f : inf;
      const bool last = n.output == plan.output_value;
      // A fully connected node flattens its input to [1, H*W*C] and writes [1, O].
      const std::vector<std::size_t> dims =
          n.kind() == op::dense
              ? std::vector<std::size_t>{1, static_cast<std::size_t>(s.output.channels)}
              : nhwc(n.output);
      const std::uint32_t out = define(n.output, dims, last ? 1 : XNN_INVALID_VALUE_ID,
                                       last ? XNN_VALUE_FLAG_EXTERNAL_OUTPUT : 0);
      // A residual is added by its own node, which then carries the activation.
      const std::uint32_t conv_out = n.residual >= 0 ? internal(dims) : out;
      const float conv_lo = n.residual >= 0 ? -inf : lo, conv_hi = n.residual >= 0 ? inf : hi;
      const float* w = weights_.data() + n.weight_offset;
      const float* b = weights_.data() + n.bias_offset;
      const auto o = static_cast<std::size_t>(s.output.channels);
      switch (n.kind()) {
        case op::conv2d:
        case op::pointwise_conv2d: {
          const std::size_t gi = static_cast<std::size_t>(s.input.channels / s.groups);
          const std::uint32_t filter =
              constant({o, u32(s.kernel.height), u32(s.kernel.width), gi}, w);
          check(xnn_define_convolution_2d(
                    graph, u32(s.padding.height),
                    pad_after(s.input.width, s.output.width, s.kernel.width, s.stride.width,
                              s.padding.width),
                    pad_after(s.input.height, s.output.height, s.kernel.height, s.stride.height,
                              s.padding.height),
                    u32(s.padding.width), u32(s.kernel.height), u32(s.kernel.width),
                    u32(s.stride.height), u32(s.stride.width), 1, 1, u32(s.groups), gi,
                    o / static_cast<std::size_t>(s.groups), conv_lo, conv_hi, id_of(n.input()),
                    filter, constant({o}, b), conv_out, 0),
                "a convolution");
          break;
        }
        case op::depthwise_conv2d: {
          // lmnet's (C, KH, KW, 1) to XNNPACK's (1, KH, KW, C).
          const int taps = s.kernel.height * s.kernel.width;
          std::vector<float>& t = transposed_.emplace_back(o * static_cast<std::size_t>(taps));
          for (std::size_t c = 0; c < o; ++c) {
            for (int k = 0; k < taps; ++k) t[static_cast<std::size_t>(k) * o + c] = w[c * taps + k];
          }
          const std::uint32_t filter =
              constant({1, u32(s.kernel.height), u32(s.kernel.width), o}, t.data());
          check(xnn_define_depthwise_convolution_2d(
                    graph, u32(s.padding.height),
                    pad_after(s.input.width, s.output.width, s.kernel.width, s.stride.width,
                              s.padding.width),
                    pad_after(s.input.height, s.output.height, s.kernel.height, s.stride.height,
                              s.padding.height),
                    u32(s.padding.width), u32(s.kernel.height), u32(s.kernel.width),
                    u32(s.stride.height), u32(s.stride.width), 1, 1, 1, o, conv_lo, conv_hi,
                    id_of(n.input()), filter, constant({o}, b), conv_out, 0),
                "a depthwise convolution");
          break;
        }
        case op::dense: {
          const std::size_t k = s.input.size();
          check(xnn_define_fully_connected(graph, conv_lo, conv_hi, id_of(n.input()),
                                           constant({o, k}, w), constant({o}, b), conv_out,
                                           XNN_FLAG_TENSORFLOW_RESHAPE_2D),
                "a fully connected layer");
          break;
        }
        case op::global_avg_pool:
          check(xnn_define_global_average_pooling_2d(graph, lo, hi, id_of(n.input()), out, 0),
                "a global average pooling");
          break;
        case op::max_pool2d:
          check(xnn_define_max_pooling_2d(
                    graph, u32(s.padding.height),
                    pad_after(s.input.width, s.output.width, s.kernel.width, s.stride.width,
                              s.padding.width),
                    pad_after(s.input.height, s.output.height, s.kernel.height, s.stride.height,
                              s.padding.height),
                    u32(s.padding.width), u32(s.kernel.height), u32(s.kernel.width),
                    u32(s.stride.height), u32(s.stride.width), 1, 1, lo, hi, id_of(n.input()), out,
                    0),
                "a max pooling");
          break;
        case op::add:
          check(xnn_define_add2(graph, lo, hi, id_of(n.inputs[0]), id_of(n.inputs[1]), out, 0),
                "an add");
          break;
        case op::activation:
          check(xnn_define_clamp(graph, lo, hi, id_of(n.input()), out, 0), "a clamp");
          break;
        case op::softmax:
          check(xnn_define_softmax(graph, id_of(n.input()), out, 0), "a softmax");
          break;
        default:
          throw bench::unsupported(
              std::string("the network needs a ") + op_name(n.kind()) +
              " node, and this XNNPACK's subgraph API (Debian's libxnnpack-dev, 2022-02) has no "
              "concatenate, split or transpose; a newer XNNPACK has them (LiteRT's XNNPACK "
              "delegate, peer litert, runs this network)");
      }
      if (n.residual >= 0) {
        check(xnn_define_add2(graph, lo, hi, conv_out, id_of(n.residual), out, 0),
              "a residual add");
      }
    }
    if (threads > 1) pool_.reset(pthreadpool_create(static_cast<std::size_t>(threads)));
    check(xnn_create_runtime_v2(graph, pool_.get(), 0, &runtime_), "the runtime");
  }
  xnnpack_network(const xnnpack_network&) = delete;
  xnnpack_network& operator=(const xnnpack_network&) = delete;
  ~xnnpack_network() {
    if (runtime_ != nullptr) xnn_delete_runtime(runtime_);
  }

  std::span<const float> run(const float* image) {
    if (image != bound_) {  // as TFLite's delegate: set up again only when a pointer moves
      const xnn_external_value externals[2] = {{0, const_cast<float*>(image)}, {1, output_.data()}};
      check(xnn_setup_runtime(runtime_, 2, externals), "the runtime's setup");
      bound_ = image;
    }
    check(xnn_invoke_runtime(runtime_), "to run");
    return output_;
  }

 private:
  struct pool_deleter {
    void operator()(pthreadpool_t p) const { pthreadpool_destroy(p); }
  };
  std::vector<float> weights_;
  std::vector<std::vector<float>> transposed_;
  std::vector<float> output_;
  std::unique_ptr<std::remove_pointer_t<pthreadpool_t>, pool_deleter> pool_;
  xnn_runtime_t runtime_ = nullptr;
  const float* bound_ = nullptr;
};

// The same network in XNNPACK's int8 (QS8) on lmnet's quant params and int8 weights
// (quantize_network of bench::int8_quantization): signed activations with lmnet's scales and
// zero points less 128, per-channel int8 filters (qcint8) and int32 biases, the input and output
// converted from and to fp32 by convert nodes. A residual add's convolution term gets a tensor of
// its own at the output's scale, its zero point centred on the output's range less the
// residual's; the classifier (on a 1x1 input) is a 1x1 convolution, the fully connected node
// taking no per-channel filter.
template <const auto& Net>
class xnnpack_int8_network {
 public:
  xnnpack_int8_network(std::span<const float> folded, int threads)
      : q_(quantize_network(plan_of<Net>, folded, bench::int8_quantization<Net>())) {
    static const bool initialized = xnn_initialize(nullptr) == xnn_status_success;
    if (!initialized) throw bench::unsupported("xnn_initialize failed");
    constexpr auto& plan = plan_of<Net>;
    output_.resize(plan.output_shape().size());
    xnn_subgraph_t graph = nullptr;
    check(xnn_create_subgraph(2, 0, &graph), "a subgraph");
    std::unique_ptr<xnn_subgraph, decltype(&xnn_delete_subgraph)> owner(graph, xnn_delete_subgraph);
    std::vector<std::uint32_t> ids(plan.values.size(), XNN_INVALID_VALUE_ID);
    auto nhwc = [&](int v) {
      const shape s = plan.value_at(v).image;
      return std::vector<std::size_t>{1, static_cast<std::size_t>(s.height),
                                      static_cast<std::size_t>(s.width),
                                      static_cast<std::size_t>(s.channels)};
    };
    auto quantized = [&](const quant_params& p, const std::vector<std::size_t>& dims) {
      std::uint32_t id = 0;
      check(xnn_define_quantized_tensor_value(graph, xnn_datatype_qint8, p.zero_point - 128,
                                              p.scale, dims.size(), dims.data(), nullptr,
                                              XNN_INVALID_VALUE_ID, 0, &id),
            "an int8 tensor");
      return id;
    };
    auto value_id = [&](int v) {
      std::uint32_t& id = ids[static_cast<std::size_t>(v)];
      if (id == XNN_INVALID_VALUE_ID)
        id = quantized(q_.values[static_cast<std::size_t>(v)], nhwc(v));
      return id;
    };
    auto channelwise = [&](xnn_datatype type, const float* scales, std::vector<std::size_t> dims,
                           std::size_t channel_dim, const void* data) {
      std::uint32_t id = 0;
      check(xnn_define_channelwise_quantized_tensor_value(graph, type, scales, dims.size(),
                                                          channel_dim, dims.data(), data,
                                                          XNN_INVALID_VALUE_ID, 0, &id),
            "a per-channel int8 tensor");
      return id;
    };
    auto external = [&](const std::vector<std::size_t>& dims, std::uint32_t external_id,
                        std::uint32_t flags) {
      std::uint32_t id = 0;
      check(xnn_define_tensor_value(graph, xnn_datatype_fp32, dims.size(), dims.data(), nullptr,
                                    external_id, flags, &id),
            "an fp32 tensor");
      return id;
    };
    const std::uint32_t input = external(nhwc(plan.input_value), 0, XNN_VALUE_FLAG_EXTERNAL_INPUT);
    check(xnn_define_convert(graph, input, value_id(plan.input_value), 0), "the input's convert");
    constexpr float inf = std::numeric_limits<float>::infinity();

    for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
      const node& n = plan.nodes[i];
      const quantized_node& qn = q_.nodes[i];
      const layer_spec& s = n.spec;
      // The clamp in real values (none where it is the whole uint8 range).
      const float lo =
          qn.clamp.low > 0
              ? qn.output.scale * static_cast<float>(qn.clamp.low - qn.output.zero_point)
              : -inf;
      const float hi =
          qn.clamp.high < 255
              ? qn.output.scale * static_cast<float>(qn.clamp.high - qn.output.zero_point)
              : inf;
      const std::uint32_t out = value_id(n.output);
      std::uint32_t conv_out = out;
      if (n.residual >= 0) {
        const quant_params& r = qn.second;
        const float low = static_cast<float>(qn.clamp.low - qn.output.zero_point) -
                          r.scale * static_cast<float>(255 - r.zero_point) / qn.output.scale;
        const float high = static_cast<float>(qn.clamp.high - qn.output.zero_point) +
                           r.scale * static_cast<float>(r.zero_point) / qn.output.scale;
        const auto zero = static_cast<std::int32_t>(
            std::clamp(std::nearbyint(127.5f - 0.5f * (low + high)), 0.0f, 255.0f));
        conv_out = quantized({qn.output.scale, zero}, nhwc(n.output));
      }
      const auto o = static_cast<std::size_t>(s.output.channels);
      switch (n.kind()) {
        case op::conv2d:
        case op::pointwise_conv2d:
        case op::dense: {
          const bool dense = n.kind() == op::dense;
          if (dense && (s.input.height != 1 || s.input.width != 1)) {
            throw bench::unsupported("a fully connected layer on more than one pixel in int8");
          }
          const std::size_t gi = static_cast<std::size_t>(s.input.channels / s.groups);
          const std::uint32_t filter =
              channelwise(xnn_datatype_qcint8, qn.weight_scale.data(),
                          {o, u32(s.kernel.height), u32(s.kernel.width), gi}, 0, qn.weights.data());
          std::vector<float>& bias_scale = scales_.emplace_back(o);
          for (std::size_t c = 0; c < o; ++c) bias_scale[c] = qn.input.scale * qn.weight_scale[c];
          const std::uint32_t bias =
              channelwise(xnn_datatype_qcint32, bias_scale.data(), {o}, 0, qn.bias.data());
          check(xnn_define_convolution_2d(
                    graph, u32(s.padding.height),
                    pad_after(s.input.width, s.output.width, s.kernel.width, s.stride.width,
                              s.padding.width),
                    pad_after(s.input.height, s.output.height, s.kernel.height, s.stride.height,
                              s.padding.height),
                    u32(s.padding.width), u32(s.kernel.height), u32(s.kernel.width),
                    u32(s.stride.height), u32(s.stride.width), 1, 1, u32(s.groups), gi,
                    o / static_cast<std::size_t>(s.groups), n.residual >= 0 ? -inf : lo,
                    n.residual >= 0 ? inf : hi, value_id(n.input()), filter, bias, conv_out, 0),
                "an int8 convolution");
          break;
        }
        case op::depthwise_conv2d: {
          // lmnet's (C, KH, KW, 1) to XNNPACK's (1, KH, KW, C).
          const int taps = s.kernel.height * s.kernel.width;
          std::vector<std::int8_t>& t =
              transposed_.emplace_back(o * static_cast<std::size_t>(taps));
          for (std::size_t c = 0; c < o; ++c) {
            for (int k = 0; k < taps; ++k) {
              t[static_cast<std::size_t>(k) * o + c] = qn.weights[c * taps + k];
            }
          }
          const std::uint32_t filter =
              channelwise(xnn_datatype_qcint8, qn.weight_scale.data(),
                          {1, u32(s.kernel.height), u32(s.kernel.width), o}, 3, t.data());
          std::vector<float>& bias_scale = scales_.emplace_back(o);
          for (std::size_t c = 0; c < o; ++c) bias_scale[c] = qn.input.scale * qn.weight_scale[c];
          const std::uint32_t bias =
              channelwise(xnn_datatype_qcint32, bias_scale.data(), {o}, 0, qn.bias.data());
          check(xnn_define_depthwise_convolution_2d(
                    graph, u32(s.padding.height),
                    pad_after(s.input.width, s.output.width, s.kernel.width, s.stride.width,
                              s.padding.width),
                    pad_after(s.input.height, s.output.height, s.kernel.height, s.stride.height,
                              s.padding.height),
                    u32(s.padding.width), u32(s.kernel.height), u32(s.kernel.width),
                    u32(s.stride.height), u32(s.stride.width), 1, 1, 1, o,
                    n.residual >= 0 ? -inf : lo, n.residual >= 0 ? inf : hi, value_id(n.input()),
                    filter, bias, conv_out, 0),
                "an int8 depthwise convolution");
          break;
        }
        case op::global_avg_pool:
          check(xnn_define_global_average_pooling_2d(graph, lo, hi, value_id(n.input()), out, 0),
                "an int8 global average pooling");
          break;
        case op::add:
          check(
              xnn_define_add2(graph, lo, hi, value_id(n.inputs[0]), value_id(n.inputs[1]), out, 0),
              "an int8 add");
          break;
        default:
          throw bench::unsupported(std::string("the network needs a ") + op_name(n.kind()) +
                                   " node, which this peer does not build in int8 (this "
                                   "XNNPACK, Debian's of 2022-02, has no concatenate, split or "
                                   "transpose either)");
      }
      if (n.residual >= 0) {
        check(xnn_define_add2(graph, lo, hi, conv_out, value_id(n.residual), out, 0),
              "an int8 residual add");
      }
    }
    const std::uint32_t result =
        external(nhwc(plan.output_value), 1, XNN_VALUE_FLAG_EXTERNAL_OUTPUT);
    check(xnn_define_convert(graph, value_id(plan.output_value), result, 0),
          "the output's convert");
    if (threads > 1) pool_.reset(pthreadpool_create(static_cast<std::size_t>(threads)));
    check(xnn_create_runtime_v2(graph, pool_.get(), 0, &runtime_), "the int8 runtime");
  }
  xnnpack_int8_network(const xnnpack_int8_network&) = delete;
  xnnpack_int8_network& operator=(const xnnpack_int8_network&) = delete;
  ~xnnpack_int8_network() {
    if (runtime_ != nullptr) xnn_delete_runtime(runtime_);
  }

  std::span<const float> run(const float* image) {
    if (image != bound_) {
      const xnn_external_value externals[2] = {{0, const_cast<float*>(image)}, {1, output_.data()}};
      check(xnn_setup_runtime(runtime_, 2, externals), "the runtime's setup");
      bound_ = image;
    }
    check(xnn_invoke_runtime(runtime_), "to run");
    return output_;
  }

 private:
  struct pool_deleter {
    void operator()(pthreadpool_t p) const { pthreadpool_destroy(p); }
  };
  quantized_network q_;
  std::vector<std::vector<std::int8_t>> transposed_;
  std::vector<std::vector<float>> scales_;
  std::vector<float> output_;
  std::unique_ptr<std::remove_pointer_t<pthreadpool_t>, pool_deleter> pool_;
  xnn_runtime_t runtime_ = nullptr;
  const float* bound_ = nullptr;
};

}  // namespace

// --int8: the int8 peer (xnnpack_int8, benchmarks network_int8/...).
int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--int8") {
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      return bench::network_peer_main<xnnpack_int8_network>("xnnpack_int8", "", argc - 1, argv,
                                                            true);
    }
  }
  return bench::network_peer_main<xnnpack_network>("xnnpack", "", argc, argv);
}

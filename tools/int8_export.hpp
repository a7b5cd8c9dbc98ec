// SPDX-License-Identifier: Apache-2.0
// A network in int8 as JSON, for runtimes outside lmnet (tools/int8_onnx.py builds an ONNX QDQ
// model from it): the compiled plan (every node with its operation, module path, geometry, fused
// activation and the values it reads and writes), the quant params of every value, and each
// weight layer's int8 weights, weight scales, int32 bias and multipliers as quantize_network
// computes them, so that an outside runtime runs lmnet's own int8 network.
//
//   {"model": ..., "input_value": 0, "output_value": v,
//    "values": [{"id", "shape": [H, W, C], "producer", "storage", "channel_offset",
//                "scale", "zero_point"}, ...],
//    "nodes": [{"index", "op", "name", "kernel": [KH, KW], "stride", "padding", "groups",
//               "channel_begin", "activation", "inputs", "output", "residual", "has_bias",
//               "elided", "clamp": [low, high], "first_multiplier", "second_multiplier",
//               weight layers: "weight_shape", "weights" (int8), "weight_scale" (float32),
//               "bias" (int32), "multiplier" (float32)}, ...]}
//
// Arrays of numbers are base64 of their little-endian bytes; weights are in lmnet's canonical
// layout, (O, KH, KW, I/groups) for convolutions and (O, H*W*C) for dense layers.
#pragma once

#include <lmnet/quantization/quantize.hpp>

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <ostream>
#include <span>
#include <string>
#include <vector>

namespace lmnet::tools {

/// Base64 (RFC 4648, with padding) of `bytes`.
inline std::string base64(std::span<const unsigned char> bytes) {
  static constexpr char digits[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < bytes.size(); i += 3) {
    const std::size_t left = bytes.size() - i;
    const std::uint32_t chunk = (std::uint32_t{bytes[i]} << 16) |
                                (left > 1 ? std::uint32_t{bytes[i + 1]} << 8 : 0u) |
                                (left > 2 ? std::uint32_t{bytes[i + 2]} : 0u);
    out += digits[(chunk >> 18) & 63];
    out += digits[(chunk >> 12) & 63];
    out += left > 1 ? digits[(chunk >> 6) & 63] : '=';
    out += left > 2 ? digits[chunk & 63] : '=';
  }
  return out;
}

/// The base64 of an array of numbers' bytes (this machine's byte order: little-endian).
template <class T>
std::string base64_of(const std::vector<T>& values) {
  // Appended piece by piece: GCC 12 reports a false -Wrestrict on "\"" + std::string(...) here.
  std::string out = "\"";
  out += base64({reinterpret_cast<const unsigned char*>(values.data()), values.size() * sizeof(T)});
  out += '"';
  return out;
}

/// A float that reads back as the same float32.
inline std::string exact(float x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.9g", static_cast<double>(x));
  return text;
}

inline std::string json_ints(std::initializer_list<int> values) {
  std::string out = "[";
  for (const int v : values) {
    if (out.size() > 1) out += ", ";
    out += std::to_string(v);
  }
  return out + "]";
}

/// Writes `plan` in int8 (quantize_network's result `q`) as JSON to `out`.
template <class Plan>
void write_int8_json(std::ostream& out, const Plan& plan, const quantized_network& q,
                     const std::string& model) {
  out << "{\"model\": \"" << model << "\", \"input_value\": " << plan.input_value
      << ", \"output_value\": " << plan.output_value << ",\n\"values\": [\n";
  for (std::size_t v = 0; v < plan.values.size(); ++v) {
    const value& x = plan.values[v];
    const quant_params& p = q.values[v];
    out << (v > 0 ? ",\n" : "") << "{\"id\": " << v
        << ", \"shape\": " << json_ints({x.image.height, x.image.width, x.image.channels})
        << ", \"producer\": " << x.producer << ", \"storage\": " << x.storage
        << ", \"channel_offset\": " << x.channel_offset << ", \"scale\": " << exact(p.scale)
        << ", \"zero_point\": " << p.zero_point << "}";
  }
  out << "],\n\"nodes\": [\n";
  for (std::size_t i = 0; i < plan.nodes.size(); ++i) {
    const node& n = plan.nodes[i];
    const quantized_node& qn = q.nodes[i];
    const layer_spec& s = n.spec;
    std::string inputs = "[";
    for (int k = 0; k < n.input_count; ++k) {
      if (k > 0) inputs += ", ";
      inputs += std::to_string(n.inputs[static_cast<std::size_t>(k)]);
    }
    inputs += "]";
    out << (i > 0 ? ",\n" : "") << "{\"index\": " << i << ", \"op\": \"" << op_name(s.kind)
        << "\", \"name\": \"" << n.name.str()
        << "\", \"kernel\": " << json_ints({s.kernel.height, s.kernel.width})
        << ", \"stride\": " << json_ints({s.stride.height, s.stride.width})
        << ", \"padding\": " << json_ints({s.padding.height, s.padding.width})
        << ", \"groups\": " << s.groups << ", \"channel_begin\": " << s.channel_begin
        << ", \"activation\": \"" << activation_name(s.act) << "\", \"inputs\": " << inputs
        << ", \"output\": " << n.output << ", \"residual\": " << n.residual
        << ", \"has_bias\": " << (n.has_bias ? "true" : "false")
        << ", \"elided\": " << (n.elided ? "true" : "false")
        << ", \"clamp\": " << json_ints({qn.clamp.low, qn.clamp.high})
        << ", \"first_multiplier\": " << exact(qn.first_multiplier)
        << ", \"second_multiplier\": " << exact(qn.second_multiplier);
    if (has_weights(s.kind)) {
      const int out_channels = s.output.channels;
      const int row = static_cast<int>(s.weight_count()) / out_channels;
      const std::string shape = s.kind == op::dense
                                    ? json_ints({out_channels, row})
                                    : json_ints({out_channels, s.kernel.height, s.kernel.width,
                                                 s.input.channels / s.groups});
      out << ",\n \"weight_shape\": " << shape << ", \"weights\": " << base64_of(qn.weights)
          << ",\n \"weight_scale\": " << base64_of(qn.weight_scale)
          << ", \"bias\": " << base64_of(qn.bias)
          << ", \"multiplier\": " << base64_of(qn.multiplier);
    }
    out << "}";
  }
  out << "]}\n";
}

}  // namespace lmnet::tools

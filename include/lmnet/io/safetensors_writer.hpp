// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace lmnet {

/// A tensor to write: its name, shape and fp32 values.
struct named_tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  std::vector<float> values;
};

namespace detail {

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace detail

/// Writes `tensors` (F32, little-endian) and `metadata` to a safetensors file at `path`.
inline void write_safetensors(const std::string& path, const std::vector<named_tensor>& tensors,
                              const std::map<std::string, std::string>& metadata = {}) {
  std::string header = "{";
  std::size_t offset = 0;
  for (const named_tensor& t : tensors) {
    std::size_t count = 1;
    for (const std::int64_t d : t.shape) count *= static_cast<std::size_t>(d);
    if (count != t.values.size()) {
      throw error(path + ": tensor '" + t.name + "' holds " + std::to_string(t.values.size()) +
                  " values for a shape of " + std::to_string(count));
    }
    header += detail::json_string(t.name) + ":{\"dtype\":\"F32\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) header += ',';
      header += std::to_string(t.shape[i]);
    }
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + count * 4) + "]},";
    offset += count * 4;
  }
  header += "\"__metadata__\":{";
  bool first = true;
  for (const auto& [key, value] : metadata) {
    if (!first) header += ',';
    header += detail::json_string(key);
    header += ':';
    header += detail::json_string(value);
    first = false;
  }
  header += "}}";
  while (header.size() % 8 != 0) header += ' ';  // the data starts 8-byte aligned
  std::ofstream out(path, std::ios::binary);
  if (!out) throw error("cannot write '" + path + "'");
  std::uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>(header.size() >> (8 * i));
  out.write(reinterpret_cast<const char*>(length), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const named_tensor& t : tensors) {
    for (const float v : t.values) {
      std::uint32_t bits;
      std::memcpy(&bits, &v, 4);
      std::uint8_t bytes[4];
      for (int i = 0; i < 4; ++i) bytes[i] = static_cast<std::uint8_t>(bits >> (8 * i));
      out.write(reinterpret_cast<const char*>(bytes), 4);
    }
  }
  if (!out) throw error("cannot write '" + path + "'");
}

}  // namespace lmnet

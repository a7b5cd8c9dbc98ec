// SPDX-License-Identifier: Apache-2.0
// ADAPTERS, to be replaced: how the cascade experiment reads trained weights and Fashion-MNIST
// until lmnet's own safetensors reader and C++ Fashion-MNIST reader are available. Each is one
// function with the signature its replacement will have (a WeightSource; raw images and labels):
//   load_weights(path)       reads `<model>.lmraw`, written by tools/cascade/raw_weights.py from
//                            the model's safetensors file: replace with the safetensors reader.
//   load_idx_images/labels   read the uncompressed IDX files the experiment script unpacks:
//                            replace with the C++ Fashion-MNIST reader.
#pragma once

#include <lmnet/core/error.hpp>
#include <lmnet/io/tensor_map.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace lmnet::tools {

namespace detail {
inline std::vector<char> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw error("cannot open '" + path + "'");
  std::vector<char> bytes(static_cast<std::size_t>(in.tellg()));
  in.seekg(0);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return bytes;
}

/// Reads little-endian values from a byte buffer, checking every read against its end.
class reader {
 public:
  reader(const std::vector<char>& bytes, std::string what)
      : bytes_(bytes), what_(std::move(what)) {}
  template <class T>
  T get() {
    T v;
    take(&v, sizeof v);
    return v;
  }
  void take(void* out, std::size_t n) {
    if (n > bytes_.size() - at_) throw error(what_ + ": truncated at byte " + std::to_string(at_));
    std::memcpy(out, bytes_.data() + at_, n);
    at_ += n;
  }
  bool done() const { return at_ == bytes_.size(); }

 private:
  const std::vector<char>& bytes_;
  std::string what_;
  std::size_t at_ = 0;
};
}  // namespace detail

/// `.lmraw`: "LMRAW001", u32 tensor count, then per tensor: u32 name length, name, u32 rank,
/// i64 dims, float32 values (all little-endian).
inline tensor_map load_weights(const std::string& path) {
  const std::vector<char> bytes = detail::read_file(path);
  detail::reader in(bytes, path);
  char magic[8];
  in.take(magic, 8);
  if (std::memcmp(magic, "LMRAW001", 8) != 0) throw error(path + ": not an .lmraw weight file");
  tensor_map map;
  const auto count = in.get<std::uint32_t>();
  for (std::uint32_t t = 0; t < count; ++t) {
    const auto name_length = in.get<std::uint32_t>();
    if (name_length > 4096) throw error(path + ": tensor name too long");
    std::string name(name_length, '\0');
    in.take(name.data(), name_length);
    const auto rank = in.get<std::uint32_t>();
    if (rank > 8) throw error(path + ": tensor '" + name + "' has rank " + std::to_string(rank));
    std::vector<std::int64_t> shape(rank);
    std::size_t size = 1;
    for (auto& d : shape) {
      d = in.get<std::int64_t>();
      if (d < 0 || d > (1 << 28)) throw error(path + ": tensor '" + name + "' has a bad dimension");
      size *= static_cast<std::size_t>(d);
    }
    if (size > bytes.size()) throw error(path + ": tensor '" + name + "' larger than the file");
    std::vector<float> values(size);
    in.take(values.data(), size * sizeof(float));
    map.insert(name, std::move(shape), std::move(values));
  }
  if (!in.done()) throw error(path + ": bytes after the last tensor");
  return map;
}

namespace detail {
inline std::uint32_t big_endian(detail::reader& in) {
  unsigned char b[4];
  in.take(b, 4);
  return static_cast<std::uint32_t>(b[0]) << 24 | static_cast<std::uint32_t>(b[1]) << 16 |
         static_cast<std::uint32_t>(b[2]) << 8 | b[3];
}
}  // namespace detail

/// Uncompressed IDX images (magic 0x803): count x rows x cols bytes.
inline std::vector<std::uint8_t> load_idx_images(const std::string& path, int& count, int& rows,
                                                 int& cols) {
  const std::vector<char> bytes = detail::read_file(path);
  detail::reader in(bytes, path);
  if (detail::big_endian(in) != 0x803) throw error(path + ": not an IDX image file");
  count = static_cast<int>(detail::big_endian(in));
  rows = static_cast<int>(detail::big_endian(in));
  cols = static_cast<int>(detail::big_endian(in));
  std::vector<std::uint8_t> images(static_cast<std::size_t>(count) *
                                   static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols));
  in.take(images.data(), images.size());
  return images;
}

/// Uncompressed IDX labels (magic 0x801).
inline std::vector<int> load_idx_labels(const std::string& path) {
  const std::vector<char> bytes = detail::read_file(path);
  detail::reader in(bytes, path);
  if (detail::big_endian(in) != 0x801) throw error(path + ": not an IDX label file");
  std::vector<std::uint8_t> raw(detail::big_endian(in));
  in.take(raw.data(), raw.size());
  return {raw.begin(), raw.end()};
}

}  // namespace lmnet::tools

// SPDX-License-Identifier: Apache-2.0
// NumPy's .npy format (version 1.0, little-endian float32 or float64, C order), so that logits
// and timings pass between the cascade tools and Python: np.load / np.save read and write them.
#pragma once

#include <lmnet/core/error.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

namespace lmnet::tools {

template <class T>
struct npy_array {
  std::vector<std::size_t> shape;
  std::vector<T> data;
};

template <class T>
constexpr const char* npy_descr() {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float32 or float64 only");
  return std::is_same_v<T, float> ? "<f4" : "<f8";
}

template <class T>
void save_npy(const std::string& path, const std::vector<std::size_t>& shape,
              const std::vector<T>& data) {
  std::size_t count = 1;
  std::string dims;
  for (std::size_t d : shape) {
    count *= d;
    dims += std::to_string(d) + ",";
  }
  if (count != data.size()) throw error(path + ": shape does not match the data");
  if (shape.size() > 1) dims.pop_back();
  std::string header = std::string("{'descr': '") + npy_descr<T>() +
                       "', 'fortran_order': False, 'shape': (" + dims + "), }";
  header.append(64 - (10 + header.size() + 1) % 64, ' ');  // data aligned to 64 bytes
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  const std::uint16_t length = static_cast<std::uint16_t>(header.size());
  out.write("\x93NUMPY\x01\x00", 8);
  out.put(static_cast<char>(length & 0xff)).put(static_cast<char>(length >> 8));
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(data.data()),
            static_cast<std::streamsize>(data.size() * sizeof(T)));
  if (!out) throw error(path + ": cannot write");
}

template <class T>
npy_array<T> load_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw error(path + ": cannot open");
  char magic[10];
  if (!in.read(magic, 10) || std::memcmp(magic, "\x93NUMPY\x01\x00", 8) != 0) {
    throw error(path + ": not a version 1.0 .npy file");
  }
  const std::size_t length =
      static_cast<unsigned char>(magic[8]) | static_cast<unsigned char>(magic[9]) << 8;
  std::string header(length, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(length)))
    throw error(path + ": truncated header");
  if (header.find(std::string("'descr': '") + npy_descr<T>() + "'") == std::string::npos ||
      header.find("'fortran_order': False") == std::string::npos) {
    throw error(path + ": expected a C-order " + npy_descr<T>() + " array, header " + header);
  }
  const std::size_t open = header.find("'shape': (");
  const std::size_t close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos)
    throw error(path + ": no shape in header");
  npy_array<T> a;
  std::size_t count = 1;
  for (std::size_t i = open + 10; i < close;) {
    while (i < close && (header[i] == ' ' || header[i] == ',')) ++i;
    if (i == close) break;
    std::size_t used = 0;
    const unsigned long long d = std::stoull(header.substr(i, close - i), &used);
    a.shape.push_back(static_cast<std::size_t>(d));
    count *= static_cast<std::size_t>(d);
    i += used;
  }
  a.data.resize(count);
  if (!in.read(reinterpret_cast<char*>(a.data.data()),
               static_cast<std::streamsize>(count * sizeof(T)))) {
    throw error(path + ": truncated data, expected " + std::to_string(count) + " values");
  }
  return a;
}

}  // namespace lmnet::tools

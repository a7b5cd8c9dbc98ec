// SPDX-License-Identifier: Apache-2.0
// Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist) as Debian's
// dataset-fashion-mnist package installs it: gzip-compressed IDX files. Reading needs zlib
// (zlib1g-dev); lmnet itself does not. The preprocessing is tools/lmnet_tools/fashion_mnist.py's,
// operation for operation, so lmnet sees the inputs the models were trained on.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include <zlib.h>

namespace fashion_mnist {

inline constexpr std::string_view default_root = "/usr/share/datasets/fashion-mnist";
inline constexpr std::array<std::string_view, 10> classes = {
    "t-shirt/top", "trouser", "pullover", "dress", "coat",
    "sandal",      "shirt",   "sneaker",  "bag",   "ankle boot"};
inline constexpr int image_size = 28, padded_size = 32;
// Mean and standard deviation of the training pixels in [0, 1] (fashion_mnist.py's MEAN, STD).
inline constexpr float mean = 0.2860f, stddev = 0.3530f;

/// An IDX file of unsigned bytes: its dimensions and data.
struct idx {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};

/// Reads a gzip-compressed (or plain) IDX file of unsigned bytes. Throws std::runtime_error naming
/// the file on a missing file, a corrupt or truncated stream, a wrong magic number, or data that
/// does not match the dimensions.
inline idx read_idx(const std::string& path) {
  const std::unique_ptr<gzFile_s, int (*)(gzFile)> file(gzopen(path.c_str(), "rb"), &gzclose);
  if (!file) throw std::runtime_error("cannot open '" + path + "'");
  std::vector<std::uint8_t> raw;
  std::array<std::uint8_t, 1 << 16> chunk;
  while (true) {
    const int n = gzread(file.get(), chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      int code = 0;
      const char* message = gzerror(file.get(), &code);
      throw std::runtime_error("'" + path + "': corrupt gzip data (" + message + ")");
    }
    if (n == 0) break;
    raw.insert(raw.end(), chunk.begin(), chunk.begin() + n);
  }
  int code = 0;
  const char* message = gzerror(file.get(), &code);
  if (code != Z_OK) throw std::runtime_error("'" + path + "': corrupt gzip data (" + message + ")");

  // Magic: two zero bytes, the element type (0x08: unsigned byte), the number of dimensions.
  if (raw.size() < 4 || raw[0] != 0 || raw[1] != 0 || raw[2] != 0x08) {
    throw std::runtime_error("'" + path + "' is not an IDX file of unsigned bytes");
  }
  idx out;
  const std::size_t rank = raw[3];
  if (raw.size() < 4 + 4 * rank) throw std::runtime_error("'" + path + "': truncated IDX header");
  std::size_t count = 1;
  for (std::size_t i = 0; i < rank; ++i) {
    const std::uint8_t* p = raw.data() + 4 + 4 * i;
    const std::uint32_t d = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                            (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    out.dims.push_back(d);
    count *= d;
    if (count > raw.size()) break;  // the size check below fails; no overflow
  }
  if (raw.size() - 4 - 4 * rank != count) {
    throw std::runtime_error("'" + path + "': " + std::to_string(raw.size() - 4 - 4 * rank) +
                             " bytes of data, the dimensions need " + std::to_string(count));
  }
  out.data.assign(raw.begin() + static_cast<std::ptrdiff_t>(4 + 4 * rank), raw.end());
  return out;
}

/// Images (count x 28 x 28 bytes) and their labels (0 to 9).
struct dataset {
  std::size_t count = 0;
  std::vector<std::uint8_t> images, labels;
};

/// The "train" (60,000 images) or "t10k" (10,000 test images) split.
inline dataset load(std::string_view split, std::string_view root = default_root) {
  const std::string prefix = std::string(root) + "/" + std::string(split);
  idx images = read_idx(prefix + "-images-idx3-ubyte.gz");
  idx labels = read_idx(prefix + "-labels-idx1-ubyte.gz");
  if (images.dims.size() != 3 || images.dims[1] != image_size || images.dims[2] != image_size) {
    throw std::runtime_error(prefix + "-images-idx3-ubyte.gz: expected N x 28 x 28 images");
  }
  if (labels.dims.size() != 1 || labels.dims[0] != images.dims[0]) {
    throw std::runtime_error(prefix + "-labels-idx1-ubyte.gz: expected one label per image");
  }
  for (const std::uint8_t label : labels.data) {
    if (label >= classes.size()) throw std::runtime_error(prefix + ": a label is not 0 to 9");
  }
  return {images.dims[0], std::move(images.data), std::move(labels.data)};
}

/// One 28x28 image to the network's 32x32x1 input: zero-padded by 2 pixels on each side, scaled to
/// [0, 1], normalised by the training mean and standard deviation.
inline void preprocess(std::span<const std::uint8_t> image, std::span<float> out) {
  constexpr int pad = (padded_size - image_size) / 2;
  for (int y = 0; y < padded_size; ++y) {
    for (int x = 0; x < padded_size; ++x) {
      const bool inside = y >= pad && y < pad + image_size && x >= pad && x < pad + image_size;
      const float pixel =
          inside ? static_cast<float>(
                       image[static_cast<std::size_t>((y - pad) * image_size + x - pad)])
                 : 0.0f;
      out[static_cast<std::size_t>(y * padded_size + x)] = (pixel / 255.0f - mean) / stddev;
    }
  }
}

/// Images [first, first + count) of a dataset, preprocessed one after another.
inline std::vector<float> preprocess(const dataset& d, std::size_t first, std::size_t count) {
  constexpr std::size_t in = image_size * image_size, out = padded_size * padded_size;
  std::vector<float> inputs(count * out);
  for (std::size_t i = 0; i < count; ++i) {
    preprocess(std::span(d.images).subspan((first + i) * in, in),
               std::span(inputs).subspan(i * out, out));
  }
  return inputs;
}

}  // namespace fashion_mnist

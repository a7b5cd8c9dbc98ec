// SPDX-License-Identifier: Apache-2.0
// The examples' Fashion-MNIST reader (support/fashion_mnist.hpp): the dataset's published facts
// (60,000 + 10,000 images, classes balanced), the preprocessing against its formula, and the
// errors on broken files. tools/check_accuracy.py checks the preprocessing against Python's, bit
// for bit.
#include "fashion_mnist.hpp"

#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>
#include <zlib.h>

using doctest::Contains;

namespace {

std::array<int, 10> class_counts(const fashion_mnist::dataset& d) {
  std::array<int, 10> counts{};
  for (const std::uint8_t label : d.labels) ++counts[label];
  return counts;
}

// Writes `bytes` gzip-compressed to `path`.
void write_gzip(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())) ==
          static_cast<int>(bytes.size()));
  gzclose(file);
}

}  // namespace

TEST_CASE("fashion_mnist: the test and training sets as published") {
  const fashion_mnist::dataset test = fashion_mnist::load("t10k");
  CHECK(test.count == 10000);
  CHECK(test.images.size() == 10000u * 28 * 28);
  std::array<int, 10> thousand;
  thousand.fill(1000);
  CHECK(class_counts(test) == thousand);

  const fashion_mnist::dataset train = fashion_mnist::load("train");
  CHECK(train.count == 60000);
  std::array<int, 10> six_thousand;
  six_thousand.fill(6000);
  CHECK(class_counts(train) == six_thousand);
}

TEST_CASE("fashion_mnist: preprocessing pads with zeros, scales and normalises") {
  const fashion_mnist::dataset test = fashion_mnist::load("t10k");
  const std::vector<float> inputs = fashion_mnist::preprocess(test, 1, 2);  // images 1 and 2
  REQUIRE(inputs.size() == 2u * 32 * 32);
  for (int n = 0; n < 2; ++n) {
    for (int y = 0; y < 32; ++y) {
      for (int x = 0; x < 32; ++x) {
        const bool inside = y >= 2 && y < 30 && x >= 2 && x < 30;
        const double pixel =
            inside ? test.images[static_cast<std::size_t>((1 + n) * 784 + (y - 2) * 28 + x - 2)]
                   : 0;
        const double expected = (pixel / 255.0 - 0.2860) / 0.3530;
        CHECK(inputs[static_cast<std::size_t>((n * 32 + y) * 32 + x)] ==
              doctest::Approx(expected).epsilon(1e-6));
      }
    }
  }
}

TEST_CASE("fashion_mnist: broken files are errors that name the file") {
  const std::string path = "lmnet_fashion_mnist_test.gz";
  CHECK_THROWS_WITH_AS(fashion_mnist::read_idx("/nonexistent/t10k.gz"),
                       "cannot open '/nonexistent/t10k.gz'", std::runtime_error);

  write_gzip(path, {0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0});  // floats, not bytes
  CHECK_THROWS_WITH_AS(fashion_mnist::read_idx(path),
                       Contains("is not an IDX file of unsigned bytes"), std::runtime_error);

  write_gzip(path, {0, 0, 8, 2, 0, 0, 0, 3});  // two dimensions, one given
  CHECK_THROWS_WITH_AS(fashion_mnist::read_idx(path), Contains("truncated IDX header"),
                       std::runtime_error);

  write_gzip(path, {0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3});  // 5 bytes promised, 3 given
  CHECK_THROWS_WITH_AS(fashion_mnist::read_idx(path),
                       Contains("3 bytes of data, the dimensions need 5"), std::runtime_error);

  write_gzip(path, {0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9});
  const fashion_mnist::idx ok = fashion_mnist::read_idx(path);
  CHECK(ok.dims == std::vector<std::uint32_t>{3});
  CHECK(ok.data == std::vector<std::uint8_t>{7, 8, 9});

  // A gzip stream cut in the middle.
  std::vector<std::uint8_t> big(100000);
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 7919 % 251);
  big[0] = big[1] = 0, big[2] = 8, big[3] = 1;
  write_gzip(path, big);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::vector<char> compressed(200000);
  compressed.resize(std::fread(compressed.data(), 1, compressed.size(), f));
  std::fclose(f);
  f = std::fopen(path.c_str(), "wb");
  std::fwrite(compressed.data(), 1, compressed.size() / 2, f);
  std::fclose(f);
  CHECK_THROWS_WITH_AS(fashion_mnist::read_idx(path), Contains("corrupt gzip data"),
                       std::runtime_error);
  std::remove(path.c_str());
}

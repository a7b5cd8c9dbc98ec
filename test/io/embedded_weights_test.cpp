// SPDX-License-Identifier: Apache-2.0
// Embedded weights: headers written by lmnet_embed at build time hold exactly what the safetensors
// reader reads from the same files, and embedded_weights checks tensors as a file would.
#include "bf16_f16_escapes_weights.hpp"  // generated from test/fuzz/corpus by lmnet_embed
#include "python_mixed_weights.hpp"
#include "test_utils.hpp"

#include <lmnet/io/embedded_weights.hpp>
#include <lmnet/io/safetensors.hpp>
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <bit>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace lmnet;
using doctest::Contains;

namespace {

std::vector<float> read(auto& source, const std::string& name,
                        std::span<const std::int64_t> shape) {
  std::size_t n = 1;
  for (auto d : shape) n *= static_cast<std::size_t>(d);
  std::vector<float> out(n);
  source.read(name, shape, out);
  return out;
}

std::vector<std::uint32_t> bits(const std::vector<float>& v) {
  std::vector<std::uint32_t> out;
  for (float x : v) out.push_back(std::bit_cast<std::uint32_t>(x));
  return out;
}

// Every tensor of the generated header against the file it came from, bit for bit.
void check_same_as_file(std::span<const embedded_tensor> tensors, const std::string& path,
                        std::size_t skipped) {
  safetensors file(path);
  embedded_weights embedded(tensors);
  CHECK(embedded.tensors().size() + skipped == file.tensors().size());
  for (const embedded_tensor& t : tensors) {
    const std::string name(t.name());
    const stored_tensor* stored = file.tensors().find(name);
    REQUIRE_MESSAGE(stored != nullptr, name);
    CHECK(stored->type == t.type());
    CHECK(stored->shape == std::vector<std::int64_t>(t.shape().begin(), t.shape().end()));
    CHECK(bits(read(embedded, name, t.shape())) == bits(read(file, name, t.shape())));
  }
  CHECK_NOTHROW(embedded.finish());
}

}  // namespace

TEST_CASE("embedded weights: lmnet_embed headers equal their safetensors files") {
  check_same_as_file(python_mixed_weights::tensors,
                     LMNET_TEST_FUZZ_CORPUS "/python_mixed.safetensors", 1);  // num_batches_tracked
  check_same_as_file(bf16_f16_escapes_weights::tensors,
                     LMNET_TEST_FUZZ_CORPUS "/bf16_f16_escapes.safetensors", 0);
  CHECK(python_mixed_weights::metadata[0][0] == "writer");
  CHECK(bf16_f16_escapes_weights::metadata[0][0] == "k\xc3\xa9y");
  CHECK(bf16_f16_escapes_weights::metadata[0][1] == "v\n\"\\/");
  CHECK(bf16_f16_escapes_weights::tensors[0].name() == "a\xf0\x9f\x98\x80.weight");
}

namespace {

inline constexpr std::int64_t shape_2x2[] = {2, 2};
inline constexpr std::int64_t shape_2[] = {2};
inline constexpr float values[] = {1.0f, 2.0f, 3.0f, 4.0f};
inline constexpr std::uint16_t half_values[] = {0x3c00, 0xc000};    // 1, -2
inline constexpr std::uint16_t bfloat_values[] = {0x3f80, 0xbf00};  // 1, -0.5
inline constexpr float with_nan[] = {1.0f, std::numeric_limits<float>::quiet_NaN()};

}  // namespace

TEST_CASE("embedded weights: the checks of a file") {
  constexpr embedded_tensor tensors[] = {
      {"w", shape_2x2, values},
      {"h", shape_2, dtype::f16, half_values},
      {"b", shape_2, dtype::bf16, bfloat_values},
  };
  embedded_weights source(tensors, "flash");
  CHECK(read(source, "w", shape_2x2) == std::vector<float>{1, 2, 3, 4});
  CHECK(read(source, "h", shape_2) == std::vector<float>{1, -2});
  CHECK_THROWS_WITH_AS(source.finish(),
                       "lmnet: flash: unexpected tensor 'b': no layer of the network reads it",
                       error);
  CHECK(read(source, "b", shape_2) == std::vector<float>{1, -0.5f});
  CHECK_NOTHROW(source.finish());

  CHECK_THROWS_WITH_AS(read(source, "x", shape_2),
                       "lmnet: flash: missing tensor 'x' (expected shape [2])", error);
  CHECK_THROWS_WITH_AS(read(source, "w", shape_2),
                       "lmnet: flash: tensor 'w' has shape [2, 2], expected [2]", error);

  const embedded_tensor nan[] = {{"n", shape_2, with_nan}};
  embedded_weights nan_source(nan);
  CHECK_THROWS_WITH_AS(read(nan_source, "n", shape_2),
                       Contains("tensor 'n' has a non-finite value (nan) at index 1"), error);

  const embedded_tensor twice[] = {{"w", shape_2x2, values}, {"w", shape_2x2, values}};
  CHECK_THROWS_WITH_AS(embedded_weights{twice}, "lmnet: embedded weights: tensor 'w' appears twice",
                       error);

  const embedded_tensor short_array[] = {{"w", shape_2x2, std::span(values).first(3)}};
  CHECK_THROWS_WITH_AS(embedded_weights{short_array},
                       Contains("tensor 'w' holds 12 bytes, but shape [2, 2] of F32 needs 16"),
                       error);

  const embedded_tensor integers[] = {{"i", shape_2, dtype::i16, half_values}};
  CHECK_THROWS_WITH_AS(embedded_weights{integers},
                       Contains("tensor 'i' has dtype I16, expected F32, F16 or BF16"), error);
}

namespace {

inline constexpr auto tiny_net = network{input{2, 2, 1}, dense{.out = 2}};
inline constexpr float dense_weight[] = {1, 2, 3, 4, 5, 6, 7, 8};
inline constexpr float dense_bias[] = {0.5f, -0.5f};
inline constexpr std::int64_t dense_weight_shape[] = {2, 4};

}  // namespace

TEST_CASE("embedded weights: a model bound to constant arrays") {
  constexpr embedded_tensor tensors[] = {{"0.weight", dense_weight_shape, dense_weight},
                                         {"0.bias", shape_2, dense_bias}};
  model<tiny_net> m;
  m.load(embedded_weights{tensors});
  const std::vector<float> image = {1, 0, 0,
                                    2};  // one channel: (h, w, c) equals PyTorch's (c, h, w)
  const auto out = m.infer(image);
  CHECK(std::vector<float>(out.begin(), out.end()) ==
        std::vector<float>{1 + 8 + 0.5f, 5 + 16 - 0.5f});

  constexpr embedded_tensor missing[] = {{"0.weight", dense_weight_shape, dense_weight}};
  CHECK_THROWS_WITH_AS(m.load(embedded_weights{missing}),
                       "lmnet: embedded weights: missing tensor '0.bias' (expected shape [2])",
                       error);
}

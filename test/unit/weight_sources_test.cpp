// SPDX-License-Identifier: Apache-2.0
// The in-memory weight sources and batch-norm folding through bind_weights.
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace lmnet;

TEST_CASE("random_weights: deterministic by seed and name, plausible ranges") {
  random_weights a{3}, b{3}, c{4};
  std::vector<float> x(64), y(64), z(64), w(64);
  const std::int64_t conv[4] = {4, 4, 2, 2};
  a.read("0.weight", conv, x);
  b.read("0.weight", conv, y);
  c.read("0.weight", conv, z);
  a.read("1.weight", conv, w);
  CHECK(x == y);
  CHECK(x != z);
  CHECK(x != w);
  const float bound = std::sqrt(3.0f / 16.0f);
  for (float v : x) CHECK(std::abs(v) <= bound);
  const std::int64_t channels[1] = {64};
  std::vector<float> var(64);
  a.read("1.running_var", channels, var);
  for (float v : var) CHECK((v >= 0.5f && v <= 1.5f));
}

TEST_CASE("tensor_map: num_batches_tracked may stay unread, anything else may not") {
  tensor_map m;
  m.insert("1.num_batches_tracked", {}, {});
  CHECK_NOTHROW(m.finish());
  m.insert("2.bias", {3}, {1, 2, 3});
  CHECK_THROWS_WITH_AS(m.finish(),
                       "lmnet: unexpected tensor '2.bias': no layer of the network reads it",
                       lmnet::error);
  std::vector<float> out(3);
  const std::int64_t shape[1] = {3};
  m.read("2.bias", shape, out);
  CHECK(out == std::vector<float>{1, 2, 3});
  CHECK_NOTHROW(m.finish());
}

namespace {
inline constexpr auto conv_bn_net =
    network{input{3, 3, 1}, conv2d{.out = 2, .kernel = 1}, batch_norm{.eps = 0.5f}};
}

TEST_CASE("bind_weights: folds batch norm into the canonical layout (hand-computed)") {
  tensor_map m;
  m.insert("0.weight", {2, 1, 1, 1}, {2.0f, -1.0f});
  m.insert("1.weight", {2}, {1.0f, 3.0f});         // gamma
  m.insert("1.bias", {2}, {0.5f, 0.0f});           // beta
  m.insert("1.running_mean", {2}, {1.0f, -1.0f});  // mean
  m.insert("1.running_var", {2}, {1.5f, 3.5f});    // var + eps = 2, 4
  constexpr auto& p = plan_of<conv_bn_net>;
  std::vector<float> folded(p.weight_floats);
  bind_weights(p, m, folded);
  const node& n = p.nodes[0];
  // scale = gamma / sqrt(var + eps): 1/sqrt(2), 3/2; bias = (0 - mean) * scale + beta.
  CHECK(folded[n.weight_offset] == doctest::Approx(2.0 / std::sqrt(2.0)));
  CHECK(folded[n.weight_offset + 1] == doctest::Approx(-1.5));
  CHECK(folded[n.bias_offset] == doctest::Approx(-1.0 / std::sqrt(2.0) + 0.5));
  CHECK(folded[n.bias_offset + 1] == doctest::Approx(1.5));

  model<conv_bn_net> mm;
  mm.load(m);
  const std::vector<float> image(9, 2.0f);
  const auto out = mm.infer(image);
  // y = gamma * (w * x - mean) / sqrt(var + eps) + beta at every pixel.
  CHECK(out[0] == doctest::Approx((2.0 * 2.0 - 1.0) / std::sqrt(2.0) + 0.5));
  CHECK(out[1] == doctest::Approx(3.0 * (-2.0 + 1.0) / 2.0));
}

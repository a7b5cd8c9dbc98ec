// SPDX-License-Identifier: Apache-2.0
// The in-memory weight sources, batch-norm folding through bind_weights, the tensors a plan
// expects, and how names that do not match are reported.
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <optional>
#include <string>
#include <string_view>
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

TEST_CASE("name matching: edit distances over characters and dotted segments") {
  using detail::edit_distance;
  CHECK(edit_distance<char>(std::string_view("kitten"), std::string_view("sitting")) == 3);
  CHECK(edit_distance<char>(std::string_view(""), std::string_view("abc")) == 3);
  CHECK(edit_distance<char>(std::string_view("abc"), std::string_view("abc")) == 0);
  const auto flat = detail::path_segments("blocks.0.0.weight");
  const auto body = detail::path_segments("blocks.0.body.0.weight");
  CHECK(flat == std::vector<std::string_view>{"blocks", "0", "0", "weight"});
  CHECK(edit_distance<std::string_view>(flat, body) == 1);  // insert "body"
  CHECK(edit_distance<std::string_view>(body, detail::path_segments("blocks.1.body.0.bias")) == 2);
}

TEST_CASE("name matching: the nearest name differs by fewest segments, then shape, then chars") {
  const std::vector<tensor_spec> expected = {
      {"stage.0.weight", {4}}, {"stage.0.bias", {4}}, {"head.weight", {2, 4}}, {"fc.weight", {3}}};
  const std::vector<std::int64_t> four{4}, eight{8}, two_by_four{2, 4};
  const std::vector<detail::held_tensor> held = {
      {"fc.weight", {}},  // read, whatever its shape: names only here
      {"head.main.weight", eight},
      {"head.side.weight", two_by_four},  // same segment count as main, same shape: nearest
      {"stage.0.block.weight", four},     // one segment added (6 characters)
      {"stage.1.weigh", four},            // two segments changed (2 characters)
      {"x.num_batches_tracked", {}}};     // never unexpected
  const detail::name_match m = detail::match_names(expected, held);
  CHECK(m.missing == std::vector<std::size_t>{0, 1, 2});
  CHECK(m.unexpected == std::vector<std::size_t>{1, 2, 3, 4});
  REQUIRE(m.nearest.size() == 3);
  CHECK(m.nearest[0] == 3);  // stage.0.weight: stage.0.block.weight
  CHECK(m.nearest[1] == 4);  // stage.0.bias: two segments from both, 5 characters from this one
  CHECK(m.nearest[2] == 2);  // head.weight: head.side.weight, of its shape
  const std::vector<detail::held_tensor> none = {{"fc.weight", {}}};
  const detail::name_match lacking = detail::match_names(expected, none);
  CHECK(lacking.nearest == std::vector<std::optional<std::size_t>>(3));
}

TEST_CASE("tensor_map: expect names every missing and unexpected tensor before any read") {
  const std::vector<tensor_spec> expected = {{"0.weight", {2, 1}}, {"0.bias", {2}}};
  tensor_map m;
  m.insert("0.weight", {2, 1}, {1, 2});
  m.insert("0.bias", {2}, {1, 2});
  m.insert("1.num_batches_tracked", {}, {});
  CHECK_NOTHROW(m.expect(expected));
  m.insert("extra", {3}, {1, 2, 3});
  CHECK_THROWS_WITH_AS(m.expect(expected),
                       "lmnet: unexpected tensor 'extra' [3]: no layer of the network reads it",
                       lmnet::error);
  tensor_map renamed;
  renamed.insert("0.conv.weight", {2, 1}, {1, 2});
  renamed.insert("0.conv.bias", {2}, {1, 2});
  CHECK_THROWS_WITH_AS(
      renamed.expect(expected),
      "lmnet: the tensor names differ from the network's (2 missing, 2 unexpected):\n"
      "  missing tensor '0.weight' (expected shape [2, 1]); nearest in the file: '0.conv.weight' "
      "[2, 1]\n"
      "  missing tensor '0.bias' (expected shape [2]); nearest in the file: '0.conv.bias' [2]\n"
      "  unexpected tensor '0.conv.bias' [2]: no layer of the network reads it\n"
      "  unexpected tensor '0.conv.weight' [2, 1]: no layer of the network reads it",
      lmnet::error);
  tensor_map one_short;
  one_short.insert("0.weight", {2, 1}, {1, 2});
  CHECK_THROWS_WITH_AS(one_short.expect(expected),
                       "lmnet: missing tensor '0.bias' (expected shape [2])", lmnet::error);
}

TEST_CASE("expected_tensors: every tensor a plan reads, in reading order, with PyTorch's shapes") {
  static constexpr auto net =
      network{input{4, 4, 2},
              conv2d{.out = 3},
              batch_norm{},
              relu,
              depthwise_conv2d{.bias = true},
              named("classifier", sequential(global_avg_pool{}, dense{.out = 5}))};
  const std::vector<tensor_spec> t = expected_tensors(plan_of<net>);
  std::string listed;
  for (const tensor_spec& s : t) listed += s.name + " " + shape_string(s.shape) + "; ";
  CHECK(listed ==
        "0.weight [3, 2, 3, 3]; 1.weight [3]; 1.bias [3]; 1.running_mean [3]; "
        "1.running_var [3]; 3.weight [3, 1, 3, 3]; 3.bias [3]; classifier.1.weight [5, 3]; "
        "classifier.1.bias [5]; ");
}

// SPDX-License-Identifier: Apache-2.0
// Whole networks on the reference backend: against a forward pass composed by hand from the naive
// NCHW layers (weights bound by PyTorch name and layout), fused against unfused plans, batches
// against single images, and the errors of `model`.
#include "plan_checks.hpp"
#include "test_utils.hpp"

#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

using namespace lmnet;
using lmnet::test::nchw;

namespace {

// Every layer type at least once, with branches, a residual and a shuffle.
inline constexpr auto oracle_net = network{
    input{9, 9, 3},
    conv2d{.out = 6},
    batch_norm{},
    relu6,                                                                          // 0 1 2
    max_pool2d{.kernel = 2},                                                        // 3
    residual(pointwise_conv2d{.out = 10}, batch_norm{}, relu6, depthwise_conv2d{},  // 4
             batch_norm{}, relu6, pointwise_conv2d{.out = 6}, batch_norm{}),
    concat(named("left", conv2d{.out = 4, .kernel = {1, 3}, .padding = {0, 1}, .bias = true}),
           channel_slice{2, 2}, named("right", depthwise_conv2d{.kernel = 5, .bias = true})),  // 5
    channel_shuffle{3},                                                                        // 6
    named("head", sequential(pointwise_conv2d{.out = 8, .groups = 4}, batch_norm{}, relu)),
    global_avg_pool{},  // 8
    dense{.out = 5},    // 9
    softmax{}};

// A dense layer over a spatial tensor: checks PyTorch's (c, h, w) flattening end to end.
inline constexpr auto flatten_net =
    network{input{3, 4, 2}, conv2d{.out = 3, .bias = true}, relu, dense{.out = 4}};

struct weights {
  tensor_map map;
  std::uint32_t seed = 1;
  std::vector<float> add(const std::string& name, std::vector<std::int64_t> shape, float lo = -0.5f,
                         float hi = 0.5f) {
    std::size_t n = 1;
    for (auto d : shape) n *= static_cast<std::size_t>(d);
    auto v = test::random_vector(n, seed++, lo, hi);
    map.insert(name, std::move(shape), v);
    return v;
  }
  struct bn {
    std::vector<float> gamma, beta, mean, var;
  };
  bn add_bn(const std::string& name, int c) {
    const auto n = static_cast<std::int64_t>(c);
    bn b;
    b.gamma = add(name + ".weight", {n}, 0.5f, 1.5f);
    b.beta = add(name + ".bias", {n});
    b.mean = add(name + ".running_mean", {n});
    b.var = add(name + ".running_var", {n}, 0.5f, 1.5f);
    map.insert(name + ".num_batches_tracked", {}, {});
    return b;
  }
};

nchw apply_bn(const nchw& t, const weights::bn& b) {
  return test::naive_batch_norm(t, b.gamma, b.beta, b.mean, b.var, 1e-5f);
}

}  // namespace

TEST_CASE("reference model: matches a forward pass composed from naive layers") {
  weights w;
  const auto stem_w = w.add("0.weight", {6, 3, 3, 3});
  const auto stem_bn = w.add_bn("1", 6);
  const auto e_w = w.add("4.0.weight", {10, 6, 1, 1});
  const auto e_bn = w.add_bn("4.1", 10);
  const auto d_w = w.add("4.3.weight", {10, 1, 3, 3});
  const auto d_bn = w.add_bn("4.4", 10);
  const auto p_w = w.add("4.6.weight", {6, 10, 1, 1});
  const auto p_bn = w.add_bn("4.7", 6);
  const auto l_w = w.add("5.left.weight", {4, 6, 1, 3});
  const auto l_b = w.add("5.left.bias", {4});
  const auto r_w = w.add("5.right.weight", {6, 1, 5, 5});
  const auto r_b = w.add("5.right.bias", {6});
  const auto h_w = w.add("head.0.weight", {8, 3, 1, 1});
  const auto h_bn = w.add_bn("head.1", 8);
  const auto f_w = w.add("9.weight", {5, 8});
  const auto f_b = w.add("9.bias", {5});

  constexpr int batch = 3;
  nchw x(batch, 3, 9, 9);
  x.data = test::random_vector(x.data.size(), 99);

  nchw t = test::naive_conv2d(x, stem_w, {}, 6, 3, 3, 1, 1, 1, 1);
  t = test::naive_activation(apply_bn(t, stem_bn), activation::relu6);
  t = test::naive_max_pool(t, 2, 2, 0);
  nchw r = test::naive_activation(
      apply_bn(test::naive_conv2d(t, e_w, {}, 10, 1, 1, 1, 0, 0, 1), e_bn), activation::relu6);
  r = test::naive_activation(apply_bn(test::naive_conv2d(r, d_w, {}, 10, 3, 3, 1, 1, 1, 10), d_bn),
                             activation::relu6);
  r = apply_bn(test::naive_conv2d(r, p_w, {}, 6, 1, 1, 1, 0, 0, 1), p_bn);
  t = test::naive_add(t, r);
  t = test::naive_concat({test::naive_conv2d(t, l_w, l_b, 4, 1, 3, 1, 0, 1, 1),
                          test::naive_slice(t, 2, 2),
                          test::naive_conv2d(t, r_w, r_b, 6, 5, 5, 1, 2, 2, 6)});
  t = test::naive_channel_shuffle(t, 3);
  t = test::naive_activation(apply_bn(test::naive_conv2d(t, h_w, {}, 8, 1, 1, 1, 0, 0, 4), h_bn),
                             activation::relu);
  t = test::naive_dense(test::naive_global_avg_pool(t), f_w, f_b, 5);
  for (int n = 0; n < batch; ++n) {  // softmax
    double total = 0;
    for (int c = 0; c < 5; ++c) total += std::exp(static_cast<double>(t.at(n, c, 0, 0)));
    for (int c = 0; c < 5; ++c)
      t.at(n, c, 0, 0) =
          static_cast<float>(std::exp(static_cast<double>(t.at(n, c, 0, 0))) / total);
  }

  model<oracle_net> fused(batch);
  fused.load(w.map);
  const auto out = fused.infer(test::to_nhwc(x), batch);
  CHECK(test::max_relative_error({out.begin(), out.end()}, t.data) < 1e-5);

  model<oracle_net, backend::reference, compile_options{.fuse = false}> unfused(batch);
  unfused.load(w.map);
  const auto out2 = unfused.infer(test::to_nhwc(x), batch);
  CHECK(test::max_relative_error({out2.begin(), out2.end()}, t.data) < 1e-5);
  CHECK(test::check_plan(decltype(fused)::plan).empty());
}

TEST_CASE("reference model: dense over a spatial tensor uses PyTorch's flatten order") {
  weights w;
  const auto c_w = w.add("0.weight", {3, 2, 3, 3});
  const auto c_b = w.add("0.bias", {3});
  const auto d_w = w.add("2.weight", {4, 36});
  const auto d_b = w.add("2.bias", {4});
  nchw x(2, 2, 3, 4);
  x.data = test::random_vector(x.data.size(), 5);
  nchw t = test::naive_activation(test::naive_conv2d(x, c_w, c_b, 3, 3, 3, 1, 1, 1, 1),
                                  activation::relu);
  t = test::naive_dense(t, d_w, d_b, 4);
  model<flatten_net> m(2);
  m.load(w.map);
  const auto out = m.infer(test::to_nhwc(x), 2);
  CHECK(test::max_relative_error({out.begin(), out.end()}, t.data) < 1e-5);
}

namespace {
inline constexpr auto lm = models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto mbc =
    models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto shc =
    models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});

template <const auto& Net>
void check_fused_and_batched() {
  constexpr int batch = 3;
  model<Net> fused(batch);
  model<Net, backend::reference, compile_options{.fuse = false}> unfused(batch);
  fused.load(random_weights{11});
  unfused.load(random_weights{11});
  const auto images = test::random_vector(fused.input_shape.size() * batch, 3, 0.0f, 1.0f);
  const auto a = fused.infer(images, batch);
  const std::vector<float> all(a.begin(), a.end());
  const auto b = unfused.infer(images, batch);
  CHECK(test::max_relative_error({b.begin(), b.end()}, all) < 1e-5);
  // Each image alone gives what it gave inside the batch.
  const std::size_t in = fused.input_shape.size(), out = fused.output_shape.size();
  for (int n = 0; n < batch; ++n) {
    const auto one = fused.infer({images.data() + n * in, in});
    const std::vector<float> expect(all.begin() + static_cast<long>(n * out),
                                    all.begin() + static_cast<long>((n + 1) * out));
    CHECK(test::max_relative_error({one.begin(), one.end()}, expect) < 1e-6);
  }
  double spread = 0;
  for (float v : all) spread += std::abs(v);
  CHECK(spread > 0.0);  // the outputs carry signal, not zeros
}
}  // namespace

TEST_CASE("reference model: l_mobilenet fused equals unfused, batches equal single images") {
  check_fused_and_batched<lm>();
}
TEST_CASE("reference model: mobilenet_v2_cifar fused equals unfused, batches equal single images") {
  check_fused_and_batched<mbc>();
}
TEST_CASE(
    "reference model: shufflenet_v2_cifar fused equals unfused, batches equal single images") {
  check_fused_and_batched<shc>();
}

TEST_CASE("model: rejects bad inputs with clear errors") {
  model<flatten_net> m(2);
  m.load(random_weights{});
  std::vector<float> image(m.input_shape.size(), 0.5f);
  CHECK_NOTHROW(m.infer(image));
  std::vector<float> short_image(image.size() - 1);
  CHECK_THROWS_WITH_AS(m.infer(short_image),
                       "lmnet: input holds 23 floats, expected 24 (1 x 3x4x2)", lmnet::error);
  image[7] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH_AS(m.infer(image), "lmnet: input has a non-finite value at index 7",
                       lmnet::error);
  std::vector<float> three(image.size() * 3, 0.0f);
  CHECK_THROWS_WITH_AS(m.infer(three, 3),
                       "lmnet: batch of 3 images, the model was built for 1 to 2", lmnet::error);
  CHECK_THROWS_WITH_AS(model<flatten_net>(0), "lmnet: max_batch must be >= 1, got 0", lmnet::error);
  const std::vector<float> folded(3);
  CHECK_THROWS_AS(m.load_folded(folded), lmnet::error);
}

TEST_CASE("model: weight loading names the tensor that is wrong") {
  auto full = [] {
    weights w;
    w.add("0.weight", {3, 2, 3, 3});
    w.add("0.bias", {3});
    w.add("2.weight", {4, 36});
    w.add("2.bias", {4});
    return w;
  };
  model<flatten_net> m;
  {
    weights w = full();
    CHECK_NOTHROW(m.load(w.map));
  }
  {
    weights w;
    w.add("0.weight", {3, 2, 3, 3});
    CHECK_THROWS_WITH_AS(m.load(w.map),
                         "lmnet: the tensor names differ from the network's (3 missing, 0 "
                         "unexpected):\n"
                         "  missing tensor '0.bias' (expected shape [3])\n"
                         "  missing tensor '2.weight' (expected shape [4, 36])\n"
                         "  missing tensor '2.bias' (expected shape [4])",
                         lmnet::error);
  }
  {
    weights w = full();
    w.add("2.weight", {4, 35});
    CHECK_THROWS_WITH_AS(m.load(w.map),
                         "lmnet: tensor '2.weight' has shape [4, 35], expected [4, 36]",
                         lmnet::error);
  }
  {
    weights w = full();
    w.add("3.weight", {4});
    CHECK_THROWS_WITH_AS(m.load(w.map),
                         "lmnet: unexpected tensor '3.weight' [4]: no layer of the network reads "
                         "it",
                         lmnet::error);
  }
  {
    weights w = full();
    std::vector<float> bad(4, 0.0f);
    bad[2] = std::numeric_limits<float>::infinity();
    w.map.insert("2.bias", {4}, bad);
    CHECK_THROWS_WITH_AS(m.load(w.map),
                         "lmnet: tensor '2.bias' has a non-finite value (inf) at index 2",
                         lmnet::error);
  }
  {
    static constexpr auto bn_net = network{input{2, 2, 1}, conv2d{.out = 2}, batch_norm{}};
    weights w;
    w.add("0.weight", {2, 1, 3, 3});
    w.add("1.weight", {2});
    w.add("1.bias", {2});
    w.add("1.running_mean", {2});
    w.map.insert("1.running_var", {2}, {1.0f, -2.0f});
    model<bn_net> b;
    CHECK_THROWS_WITH_AS(
        b.load(w.map),
        "lmnet: tensor '1.running_var' has variance -2 at index 1: batch norm needs variance + "
        "eps > 0 (eps = 1e-05)",
        lmnet::error);
  }
}

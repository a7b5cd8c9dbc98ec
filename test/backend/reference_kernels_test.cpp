// SPDX-License-Identifier: Apache-2.0
// Each reference kernel against the naive NCHW implementations of test_utils.hpp (PyTorch's
// conventions), on random shapes with odd channel counts, strided views and batches.
#include "test_utils.hpp"

#include <lmnet/backend/reference.hpp>

#include <doctest/doctest.h>

#include <random>
#include <vector>

using namespace lmnet;
using lmnet::test::nchw;

namespace {

// An NHWC copy of `t` inside a wider buffer (`pad_channels` spare channels after each pixel), so
// kernels are exercised on channel-strided views.
struct strided_tensor {
  std::vector<float> storage;
  tensor_view<float> view;
  strided_tensor(int n, int h, int w, int c, int pad_channels, float fill = 0.0f) {
    const int stride = c + pad_channels;
    storage.assign(static_cast<std::size_t>(n * h * w * stride + 1), fill);
    view = {storage.data() + (pad_channels > 0 ? 1 : 0), n, h, w, c, stride};
  }
  explicit strided_tensor(const nchw& t, int pad_channels = 0)
      : strided_tensor(t.n, t.h, t.w, t.c, pad_channels, 1e9f) {
    for (int n = 0; n < t.n; ++n)
      for (int y = 0; y < t.h; ++y)
        for (int x = 0; x < t.w; ++x)
          for (int c = 0; c < t.c; ++c) view(n, y, x, c) = t.at(n, c, y, x);
  }
  nchw to_nchw() const {
    nchw t(view.batch, view.channels, view.height, view.width);
    for (int n = 0; n < t.n; ++n)
      for (int y = 0; y < t.h; ++y)
        for (int x = 0; x < t.w; ++x)
          for (int c = 0; c < t.c; ++c) t.at(n, c, y, x) = view(n, y, x, c);
    return t;
  }
};

nchw random_nchw(int n, int c, int h, int w, std::uint32_t seed) {
  nchw t(n, c, h, w);
  t.data = test::random_vector(t.data.size(), seed);
  return t;
}

// (O, I/g, KH, KW) -> (O, KH, KW, I/g), lmnet's canonical layout.
std::vector<float> to_ohwi(const std::vector<float>& w, int o, int ig, int kh, int kw) {
  std::vector<float> r(w.size());
  for (int a = 0; a < o; ++a)
    for (int i = 0; i < ig; ++i)
      for (int y = 0; y < kh; ++y)
        for (int x = 0; x < kw; ++x)
          r[static_cast<std::size_t>(((a * kh + y) * kw + x) * ig + i)] =
              w[static_cast<std::size_t>(((a * ig + i) * kh + y) * kw + x)];
  return r;
}

}  // namespace

TEST_CASE("reference conv2d: hand-computed 3x3 example") {
  // One 3x3 channel convolved with a 2x2 kernel, stride 1, no padding.
  const float in[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const float w[4] = {1, 0, 0, -1};  // (O=1, KH=2, KW=2, I=1)
  const float b[1] = {0.5f};
  float out[4] = {};
  layer_spec spec{.kind = op::conv2d, .kernel = 2};
  reference::conv2d({in, 1, 3, 3, 1, 1}, {out, 1, 2, 2, 1, 1}, w, b, spec, {});
  // out(y, x) = in(y, x) - in(y + 1, x + 1) + 0.5 = -4 + 0.5
  for (float v : out) CHECK(v == -3.5f);
  spec.act = activation::relu;
  reference::conv2d({in, 1, 3, 3, 1, 1}, {out, 1, 2, 2, 1, 1}, w, b, spec, {});
  for (float v : out) CHECK(v == 0.0f);
}

TEST_CASE("reference conv2d: random shapes, groups, strides, padding, residual and views") {
  std::mt19937 rng(2024);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int trial = 0; trial < 60; ++trial) {
    const int groups = pick(1, 3);
    const int in_c = groups * pick(1, 5), out_c = groups * pick(1, 5);
    const int kh = std::vector{1, 3, 5}[static_cast<std::size_t>(pick(0, 2))];
    const int kw = trial % 4 == 0 ? 1 : kh;
    const int stride = pick(1, 2), pad = pick(0, kh / 2);
    const int h = pick(kh, 11), w = pick(kw, 9), n = pick(1, 2);
    const activation act = static_cast<activation>(pick(0, 2));
    CAPTURE(trial);
    const nchw x = random_nchw(n, in_c, h, w, static_cast<std::uint32_t>(trial));
    const auto weight =
        test::random_vector(static_cast<std::size_t>(out_c * (in_c / groups) * kh * kw),
                            100u + static_cast<std::uint32_t>(trial));
    const auto bias = test::random_vector(static_cast<std::size_t>(out_c),
                                          200u + static_cast<std::uint32_t>(trial));
    const int pad_w = kw == 1 ? 0 : pad;
    nchw expect = test::naive_conv2d(x, weight, bias, out_c, kh, kw, stride, pad, pad_w, groups);
    const bool with_residual = trial % 3 == 0;
    const nchw res =
        random_nchw(n, out_c, expect.h, expect.w, 300u + static_cast<std::uint32_t>(trial));
    if (with_residual) expect = test::naive_add(expect, res);
    expect = test::naive_activation(expect, act);

    const strided_tensor in_t(x, trial % 2);
    const strided_tensor res_t(res, 2);
    strided_tensor out_t(n, expect.h, expect.w, out_c, trial % 3);
    const layer_spec spec{.kind = op::conv2d,
                          .kernel = {kh, kw},
                          .stride = stride,
                          .padding = {pad, pad_w},
                          .groups = groups,
                          .act = act};
    const auto ohwi = to_ohwi(weight, out_c, in_c / groups, kh, kw);
    reference::conv2d(
        in_t.view, out_t.view, ohwi.data(), bias.data(), spec,
        with_residual ? tensor_view<const float>(res_t.view) : tensor_view<const float>{});
    CHECK(test::max_relative_error(out_t.to_nchw().data, expect.data) < 1e-5);
  }
}

TEST_CASE("reference dense: flattens (h, w, c) with weights in lmnet's order") {
  for (int trial = 0; trial < 10; ++trial) {
    const int n = 1 + trial % 2, c = 1 + trial, h = 1 + trial % 3, w = 2, out = 3 + trial % 4;
    const nchw x = random_nchw(n, c, h, w, static_cast<std::uint32_t>(trial));
    const auto weight = test::random_vector(static_cast<std::size_t>(out * c * h * w),
                                            7u + static_cast<std::uint32_t>(trial));
    const auto bias =
        test::random_vector(static_cast<std::size_t>(out), 9u + static_cast<std::uint32_t>(trial));
    const nchw expect = test::naive_dense(x, weight, bias, out);
    // PyTorch's (c, h, w) weight columns reordered to (h, w, c).
    std::vector<float> hwc(weight.size());
    for (int o = 0; o < out; ++o)
      for (int k = 0; k < c; ++k)
        for (int y = 0; y < h; ++y)
          for (int z = 0; z < w; ++z)
            hwc[static_cast<std::size_t>(o * c * h * w + (y * w + z) * c + k)] =
                weight[static_cast<std::size_t>(o * c * h * w + (k * h + y) * w + z)];
    const strided_tensor in_t(x, 1);
    strided_tensor out_t(n, 1, 1, out, 0);
    reference::dense(in_t.view, out_t.view, hwc.data(), bias.data(), layer_spec{.kind = op::dense});
    CHECK(test::max_relative_error(out_t.to_nchw().data, expect.data) < 1e-5);
  }
}

TEST_CASE("reference pooling: max with padding, global average") {
  for (int trial = 0; trial < 12; ++trial) {
    const int k = 2 + trial % 2, stride = 1 + trial % 2, pad = trial % 3 == 0 ? k / 2 : 0;
    const nchw x =
        random_nchw(2, 3 + trial % 4, 7 + trial % 3, 6, static_cast<std::uint32_t>(trial));
    const nchw expect = test::naive_max_pool(x, k, stride, pad);
    const strided_tensor in_t(x, trial % 2);
    strided_tensor out_t(2, expect.h, expect.w, x.c, 0);
    reference::max_pool2d(
        in_t.view, out_t.view,
        layer_spec{.kind = op::max_pool2d, .kernel = k, .stride = stride, .padding = pad});
    CHECK(out_t.to_nchw().data == expect.data);

    const nchw mean = test::naive_global_avg_pool(x);
    strided_tensor avg_t(2, 1, 1, x.c, 1);
    reference::global_avg_pool(in_t.view, avg_t.view);
    CHECK(test::max_relative_error(avg_t.to_nchw().data, mean.data) < 1e-6);
  }
}

TEST_CASE("reference elementwise: add with activation, standalone activation") {
  const nchw a = random_nchw(2, 5, 3, 4, 1), b = random_nchw(2, 5, 3, 4, 2);
  const strided_tensor at(a, 1), bt(b, 2);
  strided_tensor out(2, 3, 4, 5, 3);
  reference::add(at.view, bt.view, out.view, activation::relu);
  CHECK(out.to_nchw().data == test::naive_activation(test::naive_add(a, b), activation::relu).data);
  nchw big = a;
  for (float& v : big.data) v *= 10.0f;
  const strided_tensor bigt(big, 0);
  reference::apply_activation(bigt.view, out.view, activation::relu6);
  CHECK(out.to_nchw().data == test::naive_activation(big, activation::relu6).data);
}

TEST_CASE("reference concat and channel shuffle") {
  const nchw a = random_nchw(2, 3, 4, 5, 1), b = random_nchw(2, 6, 4, 5, 2),
             c = random_nchw(2, 1, 4, 5, 3);
  const strided_tensor at(a, 2), bt(b, 0), ct(c, 1);
  strided_tensor out(2, 4, 5, 10, 1);
  const tensor_view<const float> inputs[3] = {at.view, bt.view, ct.view};
  reference::concat(inputs, out.view);
  CHECK(out.to_nchw().data == test::naive_concat({a, b, c}).data);

  for (int groups : {1, 2, 3, 6}) {
    const nchw x = random_nchw(2, 12, 3, 2, static_cast<std::uint32_t>(groups));
    const strided_tensor xt(x, 1);
    strided_tensor yt(2, 3, 2, 12, 0);
    reference::channel_shuffle(xt.view, yt.view, groups);
    CHECK(yt.to_nchw().data == test::naive_channel_shuffle(x, groups).data);
  }
}

TEST_CASE("reference softmax: hand-computed values, large logits do not overflow") {
  const float logits[3] = {1000.0f, 1000.0f + std::log(3.0f), 0.0f};
  float probs[3] = {};
  reference::softmax({logits, 1, 1, 1, 3, 3}, {probs, 1, 1, 1, 3, 3});
  CHECK(probs[0] == doctest::Approx(0.25));
  CHECK(probs[1] == doctest::Approx(0.75));
  CHECK(probs[2] == doctest::Approx(0.0));
}

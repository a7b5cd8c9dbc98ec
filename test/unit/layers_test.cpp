// SPDX-License-Identifier: Apache-2.0
// Shape rules of every layer: output shapes, parameter and MAC counts, and the reasons they give
// when they cannot apply.
#include <lmnet/layers.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace lmnet;

namespace {

template <class L>
std::string why_not(const L& layer, shape in) {
  detail::message why;
  (void)layer.apply(in, why);
  return std::string(why.view());
}

template <class L>
layer_spec applied(const L& layer, shape in) {
  detail::message why;
  const layer_spec spec = layer.apply(in, why);
  REQUIRE_MESSAGE(why.empty(), why.view());
  return spec;
}

}  // namespace

TEST_CASE("conv2d: output shape follows PyTorch's floor rounding") {
  const layer_spec s = applied(conv2d{.out = 16, .kernel = 3, .stride = 2}, {32, 32, 3});
  CHECK(s.output == shape{16, 16, 16});
  CHECK(s.padding == extent2{1, 1});
  const layer_spec odd = applied(conv2d{.out = 5, .kernel = {1, 7}, .padding = 0}, {9, 11, 3});
  CHECK(odd.output == shape{9, 5, 5});
  const layer_spec valid =
      applied(conv2d{.out = 4, .kernel = 3, .stride = 2, .padding = 0}, {7, 8, 2});
  CHECK(valid.output == shape{3, 3, 4});
}

TEST_CASE("conv2d: parameters and MACs count the grouped weights") {
  const layer_spec s = applied(conv2d{.out = 8, .kernel = 3, .groups = 2}, {10, 10, 6});
  CHECK(s.weight_count() == 8 * 3 * 3 * 3);
  CHECK(s.macs() == 8 * 3 * 3 * 3 * 10 * 10);
}

TEST_CASE("conv2d: bad compositions name what is wrong") {
  CHECK(why_not(conv2d{.in = 32, .out = 8}, {8, 8, 24}) ==
        "channel mismatch: declared .in = 32 but the input has 24 channels");
  CHECK(why_not(conv2d{.out = 8, .groups = 3}, {8, 8, 16}) ==
        "groups = 3 does not divide the 16 input channels");
  CHECK(why_not(conv2d{.out = 10, .groups = 4}, {8, 8, 16}) ==
        "groups = 4 does not divide the 10 output channels");
  CHECK(why_not(conv2d{.out = 8, .kernel = 5, .padding = 0}, {4, 4, 3}) ==
        "spatial size too small: input 4x4 with padding 0x0 is smaller than the 5x5 kernel");
  CHECK(why_not(conv2d{.out = 0}, {4, 4, 3}) == ".out must be >= 1");
  CHECK(why_not(conv2d{.out = 4, .stride = 0}, {4, 4, 3}) == "stride must be >= 1");
}

TEST_CASE("depthwise_conv2d: keeps channels, halves with stride 2") {
  const layer_spec s = applied(depthwise_conv2d{.kernel = 5, .stride = 2}, {15, 15, 7});
  CHECK(s.output == shape{8, 8, 7});
  CHECK(s.groups == 7);
  CHECK(s.weight_count() == 7 * 25);
  CHECK(s.macs() == 7 * 25 * 64);
  CHECK(why_not(depthwise_conv2d{.kernel = 3, .padding = 0}, {2, 2, 4})
            .starts_with("spatial size too small"));
}

TEST_CASE("pointwise_conv2d: grouped weights and checks") {
  const layer_spec s = applied(pointwise_conv2d{.out = 12, .groups = 3}, {5, 5, 9});
  CHECK(s.output == shape{5, 5, 12});
  CHECK(s.weight_count() == 12 * 3);
  CHECK(why_not(pointwise_conv2d{.in = 8, .out = 4}, {5, 5, 9}) ==
        "channel mismatch: declared .in = 8 but the input has 9 channels");
  CHECK(why_not(pointwise_conv2d{.out = 4, .groups = 2}, {5, 5, 9}) ==
        "groups = 2 does not divide the 9 input channels");
}

TEST_CASE("dense: flattens the whole image") {
  const layer_spec s = applied(dense{.out = 10}, {2, 3, 4});
  CHECK(s.output == shape{1, 1, 10});
  CHECK(s.weight_count() == 10 * 24);
  CHECK(s.macs() == 240);
  CHECK(why_not(dense{.in = 20, .out = 3}, {2, 3, 4}) ==
        "channel mismatch: declared .in = 20 but the input has 24 features (2x3x4)");
}

TEST_CASE("pooling, shuffle, slice, softmax, activation") {
  CHECK(applied(max_pool2d{.kernel = 3, .stride = 2, .padding = 1}, {112, 112, 24}).output ==
        shape{56, 56, 24});
  CHECK(why_not(max_pool2d{.kernel = 2, .padding = 2}, {8, 8, 1}) ==
        "padding must be at most half the kernel");
  CHECK(applied(global_avg_pool{}, {7, 7, 1280}).output == shape{1, 1, 1280});
  CHECK(applied(channel_shuffle{4}, {3, 3, 8}).output == shape{3, 3, 8});
  CHECK(why_not(channel_shuffle{3}, {3, 3, 8}) ==
        "groups = 3 does not divide the 8 input channels");
  CHECK(applied(channel_slice{2, 3}, {3, 3, 8}).output == shape{3, 3, 3});
  CHECK(applied(channel_slice{2}, {3, 3, 8}).output == shape{3, 3, 6});
  CHECK(why_not(channel_slice{6, 3}, {3, 3, 8}) ==
        "channels [6, 9) are outside the 8 input channels");
  CHECK(applied(softmax{}, {1, 1, 10}).output == shape{1, 1, 10});
  CHECK(applied(relu6, {2, 2, 2}).act == activation::relu6);
  CHECK(why_not(batch_norm{.eps = 0.0f}, {2, 2, 2}) == "eps must be > 0");
}

TEST_CASE("add and concat rules") {
  detail::message why;
  CHECK(add_rule({4, 4, 8}, {4, 4, 8}, why).output == shape{4, 4, 8});
  CHECK(why.empty());
  (void)add_rule({4, 4, 8}, {4, 4, 16}, why);
  CHECK(why.view() == "channel mismatch: cannot add 4x4x8 and 4x4x16");
  detail::message why2;
  const shape parts[3] = {{4, 4, 3}, {4, 4, 5}, {4, 4, 1}};
  CHECK(concat_rule(parts, why2).output == shape{4, 4, 9});
  const shape bad[2] = {{4, 4, 3}, {2, 2, 5}};
  (void)concat_rule(bad, why2);
  CHECK(why2.view() == "cannot concatenate 4x4 and 2x2 tensors");
}

TEST_CASE("activations: hand-computed values") {
  CHECK(activate(-1.5f, activation::relu) == 0.0f);
  CHECK(activate(2.5f, activation::relu) == 2.5f);
  CHECK(activate(7.0f, activation::relu6) == 6.0f);
  CHECK(activate(-3.0f, activation::relu6) == 0.0f);
  CHECK(activate(-3.0f, activation::none) == -3.0f);
}

TEST_CASE("bias_option: automatic means no bias when batch norm follows") {
  CHECK(bias_option{}.resolve(true) == false);
  CHECK(bias_option{}.resolve(false) == true);
  CHECK(bias_option{true}.resolve(true) == true);
  CHECK(bias_option{false}.resolve(false) == false);
}

TEST_CASE("fold_batch_norm: matches the formula on hand-picked numbers") {
  float w[4] = {1.0f, 2.0f, -1.0f, 0.5f};  // two output channels, rows of 2
  float b[2] = {0.5f, -1.0f};
  const float gamma[2] = {2.0f, 0.5f}, beta[2] = {0.1f, 0.2f}, mean[2] = {1.0f, -2.0f},
              var[2] = {3.0f, 0.0f};
  fold_batch_norm(w, b, gamma, beta, mean, var, 1.0f);
  // channel 0: scale = 2 / sqrt(4) = 1; channel 1: scale = 0.5 / sqrt(1) = 0.5
  CHECK(w[0] == doctest::Approx(1.0f));
  CHECK(w[1] == doctest::Approx(2.0f));
  CHECK(w[2] == doctest::Approx(-0.5f));
  CHECK(w[3] == doctest::Approx(0.25f));
  CHECK(b[0] == doctest::Approx((0.5f - 1.0f) * 1.0f + 0.1f));
  CHECK(b[1] == doctest::Approx((-1.0f + 2.0f) * 0.5f + 0.2f));
}

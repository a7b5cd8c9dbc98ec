// SPDX-License-Identifier: Apache-2.0
// The int8 scheme (quant params, the rounding rule), calibration and its errors, and the int8
// reference backend: against hand computations, and against the fp32 network it quantizes.
#include "int8_fixture.hpp"
#include "test_utils.hpp"

#include <lmnet/backend/reference/int8/engine.hpp>
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

using namespace lmnet;

namespace {

// Every layer type the int8 kernels have, fused and unfused.
inline constexpr auto every_layer =
    network{input{9, 10, 3},
            conv2d{.out = 8, .stride = 2},
            batch_norm{},
            relu6,
            max_pool2d{.kernel = 3, .stride = 1, .padding = 1},
            inverted_residual{.out = 8, .expansion = 3},
            concat(named("a", sequential(pointwise_conv2d{.out = 6}, relu)),
                   named("b", sequential(depthwise_conv2d{.kernel = 5},
                                         pointwise_conv2d{.out = 6, .groups = 2}))),
            channel_shuffle{.groups = 2},
            residual(pointwise_conv2d{.out = 12}, batch_norm{}),
            relu,
            global_avg_pool{},
            dense{.out = 5},
            softmax{}};
inline constexpr auto l_mobilenet = models::l_mobilenet({.classes = 10, .channels = 1});

template <const auto& Net, compile_options Options = compile_options{}>
void check_close_to_fp32(std::uint32_t seed, double tolerance) {
  constexpr auto& plan = plan_of<Net, Options>;
  const test::quantized_fixture f = test::quantize_random<plan>(seed, 8);
  engine<backend::int8<backend::reference>, plan> q(3);
  q.load(f.network);
  model<Net, backend::reference, Options> fp(3);
  fp.load_folded(f.folded);
  const auto images = test::random_vector(plan.input_shape().size() * 3, seed + 100, 0.0f, 1.0f);
  const auto want = fp.infer(images, 3);
  const tensor_view<const float> got = q.run(images.data(), 3);
  const std::vector<float> expect(want.begin(), want.end());
  CHECK(test::max_relative_error({got.data, got.data + expect.size()}, expect) < tolerance);
}

}  // namespace

TEST_CASE("int8 scheme: quant params hold the range, with 0 exact") {
  const quant_params p = quant_params_for(-1.0f, 3.0f);
  CHECK(p.scale == doctest::Approx(4.0f / 255.0f));
  CHECK(dequantize(static_cast<std::uint8_t>(p.zero_point), p) == 0.0f);
  CHECK(std::abs(dequantize(0, p) + 1.0f) <= p.scale / 2);
  CHECK(std::abs(dequantize(255, p) - 3.0f) <= p.scale / 2);
  // A range that does not hold 0 is widened to it; one of no width gets scale 1.
  CHECK(quant_params_for(2.0f, 5.0f).zero_point == 0);
  CHECK(quant_params_for(-5.0f, -2.0f).zero_point == 255);
  CHECK(quant_params_for(0.0f, 0.0f) == quant_params{1.0f, 0});
  CHECK(quantize(3.0f, p) == 255);
  CHECK(quantize(100.0f, p) == 255);
  CHECK(quantize(-100.0f, p) == 0);
}

TEST_CASE("int8 scheme: requantization rounds ties to even, adds the zero point and clamps") {
  const quant_clamp all{0, 255};
  CHECK(requantize(5, 0.5f, 10, all) == 12);  // 2.5 -> 2
  CHECK(requantize(7, 0.5f, 10, all) == 14);  // 3.5 -> 4
  CHECK(requantize(-5, 0.5f, 10, all) == 8);  // -2.5 -> -2
  CHECK(requantize(-1000, 1.0f, 10, all) == 0);
  CHECK(requantize(1000, 1.0f, 10, all) == 255);
  // Two terms, each rounded: 1.5 -> 2 and 1.5 -> 2, not 3.
  CHECK(requantize(3, 0.5f, 3, 0.5f, 0, all) == 4);
  // ReLU6 clamps at the quantized 0 and 6.
  const quant_params p{0.05f, 20};
  const quant_clamp c = clamp_for(activation::relu6, p);
  CHECK(c.low == 20);
  CHECK(c.high == 140);
  CHECK(requantize(-50, 1.0f, p.zero_point, c) == 20);
  CHECK(requantize(200, 1.0f, p.zero_point, c) == 140);
}

TEST_CASE("int8 reference: a pointwise layer equals the scheme computed by hand") {
  static constexpr auto net =
      network{input{2, 3, 5}, pointwise_conv2d{.out = 4, .bias = true}, relu};
  constexpr auto& plan = plan_of<net>;
  const test::quantized_fixture f = test::quantize_random<plan>(3);
  engine<backend::int8<backend::reference>, plan> q(1);
  q.load(f.network);
  const auto images = test::random_vector(plan.input_shape().size(), 9, 0.0f, 1.0f);
  const tensor_view<const float> got = q.run(images.data(), 1);
  const quantized_node& n = f.network.nodes[0];
  const quant_params in = f.values[0], out = f.values[static_cast<std::size_t>(plan.output_value)];
  for (int p = 0; p < 6; ++p) {
    for (int o = 0; o < 4; ++o) {
      long sum = n.bias[static_cast<std::size_t>(o)];
      for (int i = 0; i < 5; ++i) {
        const int x = quantize(images[static_cast<std::size_t>(p * 5 + i)], in);
        sum += (x - in.zero_point) * n.weights[static_cast<std::size_t>(o * 5 + i)];
      }
      const double scaled =
          std::nearbyint(static_cast<float>(sum) * n.multiplier[static_cast<std::size_t>(o)]);
      const double q8 =
          std::clamp(scaled + out.zero_point, static_cast<double>(out.zero_point), 255.0);
      CHECK(got.data[p * 4 + o] == doctest::Approx(out.scale * (q8 - out.zero_point)));
    }
  }
}

TEST_CASE("int8 reference: every layer type stays close to fp32, fused and unfused") {
  check_close_to_fp32<every_layer>(1, 0.04);
  check_close_to_fp32<every_layer, compile_options{.fuse = false}>(2, 0.04);
  check_close_to_fp32<l_mobilenet>(3, 0.05);
}

TEST_CASE("calibration: no images, a non-finite value or a constant image are errors") {
  constexpr auto& plan = plan_of<l_mobilenet>;
  std::vector<float> folded(plan.weight_floats);
  random_weights source{1};
  bind_weights(plan, source, std::span<float>(folded));
  auto fails_with = [&](std::vector<float> images, const std::string& text) {
    try {
      calibrate_quantization(plan, std::span<const float>(folded), images);
      FAIL("no error");
    } catch (const error& e) {
      CHECK_MESSAGE(std::string(e.what()).find(text) != std::string::npos, e.what());
    }
  };
  fails_with({}, "at least one image");
  fails_with(std::vector<float>(1000, 0.5f), "not a whole number of images");
  auto images = test::random_vector(2048, 4, 0.0f, 1.0f);
  images[1500] = std::nanf("");
  fails_with(images, "calibration image 1 has a non-finite value at index 476");
  images = test::random_vector(2048, 4, 0.0f, 1.0f);
  std::fill(images.begin(), images.begin() + 1024, 0.25f);
  fails_with(images, "calibration image 0 is constant");
}

TEST_CASE("calibration: the percentile rule leaves rare outliers out, min-max keeps them") {
  static constexpr auto net = network{input{16, 16, 1}, pointwise_conv2d{.out = 2}};
  constexpr auto& plan = plan_of<net>;
  std::vector<float> folded(plan.weight_floats);
  random_weights source{5};
  bind_weights(plan, source, std::span<float>(folded));
  auto images = test::random_vector(256 * 64, 6, 0.0f, 1.0f);
  images[77] = 50.0f;  // one pixel in 16384
  const auto all = calibrate_quantization(plan, std::span<const float>(folded), images,
                                          {.rule = range_rule::min_max});
  const auto most = calibrate_quantization(plan, std::span<const float>(folded), images,
                                           {.rule = range_rule::percentile, .percentile = 99.9});
  CHECK(all[0].scale * 255.0f == doctest::Approx(50.0f).epsilon(0.01));
  CHECK(most[0].scale * 255.0f < 1.1f);
  CHECK(most[0].scale * 255.0f > 0.9f);
}

TEST_CASE("calibration: tensors that share memory or a scale share their params") {
  constexpr auto& plan = plan_of<every_layer>;
  const test::quantized_fixture f = test::quantize_random<plan>(11);
  for (const node& n : plan.nodes) {
    if (n.kind() == op::concat || n.kind() == op::channel_shuffle || n.kind() == op::max_pool2d ||
        n.kind() == op::channel_slice) {
      for (int k = 0; k < n.input_count; ++k) {
        CHECK(f.values[static_cast<std::size_t>(n.inputs[static_cast<std::size_t>(k)])] ==
              f.values[static_cast<std::size_t>(n.output)]);
      }
    }
  }
}

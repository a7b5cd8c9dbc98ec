// SPDX-License-Identifier: Apache-2.0
// The simd backend in int8 against the int8 reference backend: the same uint8 codes, bit for bit,
// on single layers of odd shapes, on every preset and on a thread pool. Built once per
// instruction set (see test/CMakeLists.txt).
#include "int8_fixture.hpp"
#include "test_utils.hpp"

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace lmnet;

namespace {

template <const auto& Net, class... EngineArgs>
void check_int8_against_reference(int batch, std::uint32_t seed, EngineArgs&... engine_args) {
  constexpr auto& plan = plan_of<Net>;
  const test::quantized_fixture f = test::quantize_random<plan>(seed);
  engine<backend::int8<backend::reference>, plan> ref(batch);
  ref.load(f.network);
  engine<backend::int8<backend::simd<>>, plan> fast(batch, engine_args...);
  fast.load(f.network);
  const auto images = test::random_vector(
      plan.input_shape().size() * static_cast<std::size_t>(batch), seed + 1, 0.0f, 1.0f);
  const tensor_view<const float> expect = ref.run(images.data(), batch);
  const std::vector<float> want(expect.data, expect.data + plan.output_shape().size() * batch);
  for (int run = 0; run < 2; ++run) {  // the second run starts from a used arena
    const tensor_view<const float> got = fast.run(images.data(), batch);
    int differing = 0;
    for (std::size_t i = 0; i < want.size(); ++i) differing += got.data[i] != want[i];
    CHECK(differing == 0);
  }
  double spread = 0;
  for (float v : want) spread += std::abs(v);
  CHECK(spread > 0.0);
}

// Single layers of odd shapes, each with an activation, some with a residual.
inline constexpr auto pointwise_odd =
    network{input{5, 7, 13}, pointwise_conv2d{.out = 37}, batch_norm{}, relu6};
inline constexpr auto pointwise_grouped =
    network{input{4, 6, 12}, pointwise_conv2d{.out = 20, .groups = 4}, batch_norm{}, relu};
inline constexpr auto pointwise_residual =
    network{input{6, 5, 17}, residual(pointwise_conv2d{.out = 17}, batch_norm{})};
inline constexpr auto depthwise_shapes = network{input{9, 11, 19},
                                                 depthwise_conv2d{},
                                                 batch_norm{},
                                                 relu6,
                                                 depthwise_conv2d{.kernel = 5, .stride = 2},
                                                 batch_norm{},
                                                 relu,
                                                 residual(depthwise_conv2d{}, batch_norm{})};
// Layers reading linear outputs (negative values: a zero point above 0) at every border.
inline constexpr auto signed_inputs = network{input{7, 9, 6},
                                              pointwise_conv2d{.out = 21},
                                              batch_norm{},
                                              depthwise_conv2d{},
                                              batch_norm{},
                                              depthwise_conv2d{.kernel = 5, .stride = 2},
                                              pointwise_conv2d{.out = 9}};
inline constexpr auto stems =
    network{input{15, 13, 3}, conv2d{.out = 21, .stride = 2}, batch_norm{}, relu6,
            conv2d{.out = 5, .kernel = 1, .groups = 1}};
inline constexpr auto grey_stem =
    network{input{10, 9, 1}, conv2d{.out = 16, .kernel = 5, .padding = 2}, batch_norm{}, relu};
inline constexpr auto dense_slice =
    network{input{3, 4, 10}, channel_slice{.begin = 2, .count = 5}, dense{.out = 19}};
inline constexpr auto dense_wide = network{input{1, 1, 1283}, dense{.out = 70}, relu};

inline constexpr auto mobilenet_v2_32 = models::mobilenet_v2({.resolution = 32});
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_cifar =
    models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto l_mobilenet = models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto plain_cnn = models::plain_cnn({.channels = 1});
inline constexpr auto resnet_cifar = models::resnet_cifar({.channels = 3, .blocks_per_stage = 2});

}  // namespace

TEST_CASE("simd int8: single layers of odd shapes equal the int8 reference") {
  check_int8_against_reference<pointwise_odd>(2, 1);
  check_int8_against_reference<pointwise_grouped>(1, 2);
  check_int8_against_reference<pointwise_residual>(1, 3);
  check_int8_against_reference<depthwise_shapes>(2, 4);
  check_int8_against_reference<signed_inputs>(2, 9);
  check_int8_against_reference<stems>(1, 5);
  check_int8_against_reference<grey_stem>(2, 6);
  check_int8_against_reference<dense_slice>(3, 7);
  check_int8_against_reference<dense_wide>(2, 8);
}

TEST_CASE("simd int8: every preset equals the int8 reference") {
  check_int8_against_reference<mobilenet_v2_32>(1, 11);
  check_int8_against_reference<mobilenet_v2_cifar>(2, 12);
  check_int8_against_reference<shufflenet_v2_cifar>(2, 13);
  check_int8_against_reference<l_mobilenet>(3, 14);
  check_int8_against_reference<plain_cnn>(1, 15);
  check_int8_against_reference<resnet_cifar>(1, 16);
}

TEST_CASE("simd int8: rows and images shared among threads compute the same") {
  thread_pool two(2);
  check_int8_against_reference<mobilenet_v2_cifar>(1, 21, two);
  check_int8_against_reference<l_mobilenet>(3, 22, two);
}

// SPDX-License-Identifier: Apache-2.0
// Whole networks through the CUDA backend's schedule and kernel bodies, emulated on the host,
// against the reference backend: every preset, single images and batches, fused and unfused,
// blocks in either order, on the limits of several GPUs.
#include "cuda_host_support.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <vector>

using namespace lmnet;
using lmnet::test::block_order;
using lmnet::test::compare_with_reference;

namespace {

inline constexpr auto l_mobilenet = models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto mobilenet_v2_x0_5_cifar = models::mobilenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});
inline constexpr auto shufflenet_v2_cifar =
    models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_x0_5_cifar = models::shufflenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});
inline constexpr auto plain_cnn = models::plain_cnn({.channels = 1});
inline constexpr auto resnet8 = models::resnet_cifar({.channels = 1});
// An MNASNet-like network composed by hand from layers: no block type says where its bottlenecks
// are, the shared matcher finds them by their structure.
template <int Expansion, int Kernel, int Stride>
constexpr auto mnas_bottleneck(int in, int out) {
  return sequential(pointwise_conv2d{.out = in * Expansion}, batch_norm{}, relu,
                    depthwise_conv2d{.kernel = Kernel, .stride = Stride}, batch_norm{}, relu,
                    pointwise_conv2d{.out = out}, batch_norm{});
}
inline constexpr auto mnas_by_hand = network{input{20, 18, 3},
                                             conv2d{.out = 8, .stride = 2},
                                             batch_norm{},
                                             relu,
                                             mnas_bottleneck<3, 3, 1>(8, 12),
                                             residual(mnas_bottleneck<3, 5, 1>(12, 12)),
                                             mnas_bottleneck<6, 5, 2>(12, 20),
                                             residual(mnas_bottleneck<6, 5, 1>(20, 20)),
                                             global_avg_pool{},
                                             dense{.out = 5}};
// MobileNetV2's ImageNet topology (stem stride 2, every stride) at a size the host runs quickly.
inline constexpr auto mobilenet_v2_96 = models::mobilenet_v2({.resolution = 96});

template <const auto& Net>
void check_preset(int batch) {
  for (const auto& limits : {test::hopper, test::turing, test::tiny}) {
    const auto c = compare_with_reference<Net>(batch, limits);
    CHECK(c.error < 1e-4);
    CHECK(c.magnitude > 1e-3);
  }
  const auto unfused = compare_with_reference<Net>(batch, test::hopper, {.fuse_blocks = false});
  CHECK(unfused.error < 1e-4);
  const auto backward =
      compare_with_reference<Net>(batch, test::hopper, {}, block_order::backward, 11);
  CHECK(backward.error < 1e-4);
}

}  // namespace

TEST_CASE("cuda host: bottlenecks composed by hand fuse and match the reference backend") {
  std::vector<float> memory(16);
  const cuda::schedule_memory m{memory.data(),        memory.data(),
                                memory.data(),        memory.data(),
                                std::size_t{1} << 40, reinterpret_cast<unsigned*>(memory.data()),
                                std::size_t{1} << 40};
  const cuda::schedule s = cuda::build_schedule(plan_of<mnas_by_hand>, 1, m, test::hopper);
  CHECK(std::count_if(s.steps.begin(), s.steps.end(), cuda::is_fused) == 4);
  check_preset<mnas_by_hand>(1);
  check_preset<mnas_by_hand>(2);
}

TEST_CASE("cuda host: l_mobilenet matches the reference backend") {
  check_preset<l_mobilenet>(1);
  check_preset<l_mobilenet>(3);
}
TEST_CASE("cuda host: mobilenet_v2_cifar matches the reference backend") {
  check_preset<mobilenet_v2_cifar>(1);
  check_preset<mobilenet_v2_cifar>(2);
}
TEST_CASE("cuda host: mobilenet_v2_x0_5_cifar matches the reference backend") {
  check_preset<mobilenet_v2_x0_5_cifar>(2);
}
TEST_CASE("cuda host: shufflenet_v2_cifar matches the reference backend") {
  check_preset<shufflenet_v2_cifar>(1);
  check_preset<shufflenet_v2_cifar>(2);
}
TEST_CASE("cuda host: shufflenet_v2_x0_5_cifar matches the reference backend") {
  check_preset<shufflenet_v2_x0_5_cifar>(2);
}
TEST_CASE("cuda host: plain_cnn matches the reference backend") {
  check_preset<plain_cnn>(2);
}
TEST_CASE("cuda host: resnet8 matches the reference backend") {
  check_preset<resnet8>(2);
}
TEST_CASE("cuda host: mobilenet_v2 (ImageNet strides, 96x96) matches the reference backend") {
  const auto c = compare_with_reference<mobilenet_v2_96>(1, test::hopper);
  CHECK(c.error < 1e-4);
  CHECK(c.magnitude > 1e-4);
}

// SPDX-License-Identifier: Apache-2.0
// Whole networks on the GPU against the reference backend (every preset, with and without fused
// blocks and graphs, single images and batches), the device-memory API, and the errors.
#include "gpu_support.hpp"

#include <cuda_runtime.h>
#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace lmnet;

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
inline constexpr auto mobilenet_v2 = models::mobilenet_v2();

template <const auto& Net>
void check_preset(int batch) {
  for (const bool fuse : {true, false}) {
    for (const bool graphs : {true, false}) {
      INFO("batch " << batch << (fuse ? ", fused" : ", unfused")
                    << (graphs ? ", graphs" : ", launches"));
      const auto c = test::compare_on_gpu<Net>(batch, {.graphs = graphs, .fuse_blocks = fuse});
      CHECK(c.error < 1e-4);
      CHECK(c.magnitude > 1e-4);
      CHECK(c.repeatable);
    }
  }
}

}  // namespace

TEST_CASE("cuda gpu: l_mobilenet") {
  check_preset<l_mobilenet>(1);
  check_preset<l_mobilenet>(33);
}
TEST_CASE("cuda gpu: mobilenet_v2_cifar") {
  check_preset<mobilenet_v2_cifar>(1);
  check_preset<mobilenet_v2_cifar>(33);
}
TEST_CASE("cuda gpu: mobilenet_v2_x0_5_cifar") {
  check_preset<mobilenet_v2_x0_5_cifar>(5);
}
TEST_CASE("cuda gpu: shufflenet_v2_cifar") {
  check_preset<shufflenet_v2_cifar>(3);
}
TEST_CASE("cuda gpu: shufflenet_v2_x0_5_cifar") {
  check_preset<shufflenet_v2_x0_5_cifar>(3);
}
TEST_CASE("cuda gpu: plain_cnn") {
  check_preset<plain_cnn>(3);
}
TEST_CASE("cuda gpu: resnet8") {
  check_preset<resnet8>(3);
}
TEST_CASE("cuda gpu: mobilenet_v2 224x224") {
  check_preset<mobilenet_v2>(2);
}

TEST_CASE("cuda gpu: device memory in and out, on a stream of the caller's") {
  model<l_mobilenet, backend::cuda> gpu(4);
  model<l_mobilenet> reference(4);
  gpu.load(random_weights{9});
  reference.load(random_weights{9});
  const auto images = test::random_vector(gpu.input_shape.size() * 4, 21);
  const auto expected = reference.infer(images, 4);

  auto& engine = gpu.backend_engine();
  cudaStream_t stream = nullptr;
  REQUIRE(cudaStreamCreate(&stream) == cudaSuccess);
  float* device_images = nullptr;
  REQUIRE(cudaMalloc(&device_images, images.size() * sizeof(float)) == cudaSuccess);
  REQUIRE(cudaMemcpy(device_images, images.data(), images.size() * sizeof(float),
                     cudaMemcpyHostToDevice) == cudaSuccess);
  std::vector<float> got(expected.size());
  // From a buffer of the caller's, then from the engine's own input buffer (no copy).
  for (const float* source : {static_cast<const float*>(device_images),
                              static_cast<const float*>(engine.device_input())}) {
    if (source == engine.device_input()) {
      REQUIRE(cudaMemcpy(engine.device_input(), images.data(), images.size() * sizeof(float),
                         cudaMemcpyHostToDevice) == cudaSuccess);
    }
    const tensor_view<const float> out = engine.run_device(source, 4, stream);
    REQUIRE(cudaMemcpyAsync(got.data(), out.data, got.size() * sizeof(float),
                            cudaMemcpyDeviceToHost, stream) == cudaSuccess);
    REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
    CHECK(test::max_relative_error(got, {expected.begin(), expected.end()}) < 1e-4);
  }
  cudaFree(device_images);
  cudaStreamDestroy(stream);
}

TEST_CASE("cuda gpu: every batch size up to the maximum gives the single-image results") {
  model<mobilenet_v2_cifar, backend::cuda> gpu(6);
  gpu.load(random_weights{2});
  const std::size_t in = gpu.input_shape.size(), out = gpu.output_shape.size();
  const auto images = test::random_vector(in * 6, 8);
  std::vector<float> singles;
  for (int n = 0; n < 6; ++n) {
    const auto one = gpu.infer({images.data() + n * in, in});
    singles.insert(singles.end(), one.begin(), one.end());
  }
  for (int batch = 1; batch <= 6; ++batch) {
    const auto all = gpu.infer({images.data(), in * batch}, batch);
    const std::vector<float> expect(singles.begin(), singles.begin() + out * batch);
    CHECK(test::max_relative_error({all.begin(), all.end()}, expect) < 1e-5);
  }
}

TEST_CASE("cuda gpu: errors are lmnet::error with a clear message") {
  using gpu_model = model<l_mobilenet, backend::cuda>;
  CHECK_THROWS_WITH_AS(gpu_model(0), doctest::Contains("max_batch must be >= 1"), lmnet::error);
  CHECK_THROWS_WITH_AS(gpu_model(1, cuda_options{.device = 1000}),
                       doctest::Contains("CUDA device 1000 requested"), lmnet::error);
  gpu_model unloaded(1);
  std::vector<float> image(unloaded.input_shape.size(), 0.5f);
  CHECK_THROWS_WITH_AS(unloaded.infer(image), doctest::Contains("no weights"), lmnet::error);
  unloaded.load(random_weights{});
  CHECK_THROWS_AS(unloaded.infer(image, 2), lmnet::error);
  // An arena no GPU holds (mobilenet_v2 at 224x224, a million images: terabytes).
  CHECK_THROWS_WITH_AS((model<mobilenet_v2, backend::cuda>(1 << 20)),
                       doctest::Contains("lacks memory for the activation arena"), lmnet::error);
}

TEST_CASE("cuda gpu: without a device a model says so") {
  if (cuda::device_count() > 0) return;  // run directly on a GPU machine: nothing to check
  CHECK_THROWS_WITH_AS((model<l_mobilenet, backend::cuda>(1)),
                       doctest::Contains("no CUDA device is available"), lmnet::error);
}

// SPDX-License-Identifier: Apache-2.0
// Every preset's logits on the GPU against the reference backend, at batch 1 and at a large batch
// (256 by default), on random weights and images. Prints one line per case and exits non-zero if
// any relative error (max |gpu - ref| / max |ref|) reaches 1e-4 or an output is not finite.
// scripts/cuda-verify runs it, and again under compute-sanitizer with --quick.
//
//   lmnet_cuda_verify [--quick] [--batch N]
#include "test_utils.hpp"

#include <lmnet/backend/cuda.hpp>
#include <lmnet/lmnet.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace lmnet;

inline constexpr auto l_mobilenet = models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_cifar =
    models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto plain_cnn = models::plain_cnn({.channels = 1});
inline constexpr auto resnet8 = models::resnet_cifar({.channels = 1});
inline constexpr auto shufflenet_v2_x0_5_cifar = models::shufflenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});
inline constexpr auto mobilenet_v2_x0_5_cifar = models::mobilenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});
inline constexpr auto l_mobilenet_rgb = models::l_mobilenet({.classes = 10, .channels = 3});
inline constexpr auto mobilenet_v2_cifar_rgb =
    models::mobilenet_v2({.classes = 10, .channels = 3, .resolution = 32, .cifar = true});
inline constexpr auto mobilenet_v2 = models::mobilenet_v2();
inline constexpr auto shufflenet_v2 = models::shufflenet_v2();

constexpr double tolerance = 1e-4;
int failures = 0;

// The reference backend over `batch` images, split across the host's cores.
template <const auto& Net>
std::vector<float> reference_outputs(const std::vector<float>& images, int batch) {
  const std::size_t in = plan_of<Net>.input_shape().size();
  const std::size_t out = plan_of<Net>.output_shape().size();
  std::vector<float> result(out * static_cast<std::size_t>(batch));
  const int workers =
      std::max(1, std::min(batch, static_cast<int>(std::thread::hardware_concurrency())));
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      model<Net> reference(1);
      reference.load(random_weights{17});
      for (int n = w; n < batch; n += workers) {
        const auto y = reference.infer({images.data() + in * n, in});
        std::copy(y.begin(), y.end(), result.begin() + static_cast<long>(out * n));
      }
    });
  }
  for (auto& t : threads) t.join();
  return result;
}

template <const auto& Net>
void verify(const char* name, int batch) {
  model<Net, backend::cuda> gpu(batch);
  gpu.load(random_weights{17});
  const auto images =
      test::random_vector(gpu.input_shape.size() * static_cast<std::size_t>(batch), 23);
  const auto got_view = gpu.infer(images, batch);
  const std::vector<float> got(got_view.begin(), got_view.end());
  const std::vector<float> expected = reference_outputs<Net>(images, batch);
  const bool finite = std::all_of(got.begin(), got.end(), [](float v) { return std::isfinite(v); });
  const double error = test::max_relative_error(got, expected);
  const bool ok = finite && error < tolerance;
  failures += ok ? 0 : 1;
  std::printf("verify %-26s batch=%-4d launches=%-3zu max_rel_err=%.3e %s\n", name, batch,
              gpu.backend_engine().schedule_for(batch).steps.size(), error,
              ok ? "ok" : (finite ? "FAIL" : "FAIL (non-finite output)"));
  std::fflush(stdout);
}

template <const auto& Net>
void verify_batches(const char* name, const std::vector<int>& batches) {
  for (int batch : batches) {
    try {
      verify<Net>(name, batch);
    } catch (const std::exception& e) {
      ++failures;
      std::printf("verify %-26s batch=%-4d FAIL (%s)\n", name, batch, e.what());
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  int large = 256;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) quick = true;
    if (std::strcmp(argv[i], "--batch") == 0 && i + 1 < argc) large = std::atoi(argv[++i]);
  }
  if (cuda::device_count() == 0) {
    std::printf("SKIPPED: no CUDA device (or no driver) found: nothing to verify\n");
    return 77;
  }
  const auto info = cuda::query_device(0);
  std::printf("device 0: %s (sm_%d%d, %d SMs)\n", info.name.c_str(), info.major, info.minor,
              info.limits.multiprocessors);
  const std::vector<int> small = quick ? std::vector<int>{1, 3} : std::vector<int>{1, large};
  const std::vector<int> big = quick ? std::vector<int>{1} : std::vector<int>{1, large};
  verify_batches<l_mobilenet>("l_mobilenet", small);
  verify_batches<mobilenet_v2_cifar>("mobilenet_v2_cifar", small);
  verify_batches<shufflenet_v2_cifar>("shufflenet_v2_cifar", small);
  verify_batches<plain_cnn>("plain_cnn", small);
  verify_batches<resnet8>("resnet8", small);
  verify_batches<shufflenet_v2_x0_5_cifar>("shufflenet_v2_x0_5_cifar", small);
  verify_batches<mobilenet_v2_x0_5_cifar>("mobilenet_v2_x0_5_cifar", small);
  verify_batches<l_mobilenet_rgb>("l_mobilenet (3 channels)", small);
  verify_batches<mobilenet_v2_cifar_rgb>("mobilenet_v2_cifar (3 ch)", small);
  verify_batches<mobilenet_v2>("mobilenet_v2 224x224", big);
  verify_batches<shufflenet_v2>("shufflenet_v2 224x224", big);
  std::printf("verify: %s (%d failure%s)\n", failures == 0 ? "all presets match" : "FAILED",
              failures, failures == 1 ? "" : "s");
  return failures == 0 ? 0 : 1;
}

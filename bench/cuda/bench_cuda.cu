// SPDX-License-Identifier: Apache-2.0
// The CUDA backend on the GPU, per network and per layer: device time from CUDA events around
// back-to-back runs of the captured graph (Google Benchmark's manual time), data already on the
// GPU, as PyTorch is timed by bench/cuda/torch_bench.py. scripts/cuda-bench runs both and prints
// the comparison.
//
//   network/<model>/<HxW>/batch:<n>            the default engine (fused blocks, CUDA graph)
//   network/<model>/<HxW>/batch:<n>/unfused    one kernel per layer, for comparison
//   layer/<what>/batch:<n>                     one layer (or one fused block) alone
#include <lmnet/backend/cuda.hpp>
#include <lmnet/lmnet.hpp>

#include <benchmark/benchmark.h>
#include <cuda_runtime.h>

#include <cstdio>
#include <exception>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace lmnet;

// The compared networks: ImageNet MobileNetV2, and the CIFAR-size L-Mobilenet and MobileNetV2
// (3 channels, 10 classes), the same architectures torch_bench.py builds.
inline constexpr auto mobilenet_v2 = models::mobilenet_v2();
inline constexpr auto l_mobilenet = models::l_mobilenet({.classes = 10, .channels = 3});
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .channels = 3, .resolution = 32, .cifar = true});

// Single layers and blocks at sizes MobileNetV2 (224x224) runs them.
inline constexpr auto stem_224 =
    network{input{224, 224, 3}, conv2d{.out = 32, .stride = 2}, batch_norm{}, relu6};
inline constexpr auto depthwise_112_s2 =
    network{input{112, 112, 96}, depthwise_conv2d{.stride = 2}, batch_norm{}, relu6};
inline constexpr auto depthwise_56 =
    network{input{56, 56, 144}, depthwise_conv2d{}, batch_norm{}, relu6};
inline constexpr auto depthwise_14 =
    network{input{14, 14, 576}, depthwise_conv2d{}, batch_norm{}, relu6};
inline constexpr auto depthwise_5x5_28 =
    network{input{28, 28, 192}, depthwise_conv2d{.kernel = 5}, batch_norm{}, relu6};
inline constexpr auto pointwise_56 =
    network{input{56, 56, 24}, pointwise_conv2d{.out = 144}, batch_norm{}, relu6};
inline constexpr auto pointwise_14 =
    network{input{14, 14, 576}, pointwise_conv2d{.out = 96}, batch_norm{}};
inline constexpr auto pointwise_7 =
    network{input{7, 7, 320}, pointwise_conv2d{.out = 1280}, batch_norm{}, relu6};
inline constexpr auto classifier = network{input{1, 1, 1280}, dense{.out = 1000}};
inline constexpr auto inverted_residual_56 =
    network{input{56, 56, 24}, inverted_residual{.out = 24}};
inline constexpr auto inverted_residual_7 =
    network{input{7, 7, 160}, inverted_residual{.out = 160}};
inline constexpr auto l_bottleneck_16 = network{input{16, 16, 24}, l_bottleneck<>{.out = 24}};

using cuda::check;

template <const auto& Net>
void run_network(benchmark::State& state, int batch, bool fuse) {
  model<Net, backend::cuda> m(batch, cuda_options{.fuse_blocks = fuse});
  m.load(random_weights{1});
  auto& engine = m.backend_engine();
  std::vector<float> images(m.input_shape.size() * static_cast<std::size_t>(batch));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  for (float& v : images) v = uniform(rng);
  check(cudaMemcpy(engine.device_input(), images.data(), images.size() * sizeof(float),
                   cudaMemcpyHostToDevice),
        "cudaMemcpy");
  cudaStream_t stream = nullptr;
  cudaEvent_t start = nullptr, stop = nullptr;
  check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
  check(cudaEventCreate(&start), "cudaEventCreate");
  check(cudaEventCreate(&stop), "cudaEventCreate");
  for (int i = 0; i < 3; ++i) engine.run_device(engine.device_input(), batch, stream);  // capture
  check(cudaStreamSynchronize(stream), "warm-up");

  // Back-to-back runs per timed iteration: enough GPU work to dwarf the event resolution.
  const double macs = static_cast<double>(plan_of<Net>.macs()) * batch;
  const int runs = macs < 2e9 ? 20 : 3;
  for (auto _ : state) {
    check(cudaEventRecord(start, stream), "cudaEventRecord");
    for (int i = 0; i < runs; ++i) engine.run_device(engine.device_input(), batch, stream);
    check(cudaEventRecord(stop, stream), "cudaEventRecord");
    check(cudaEventSynchronize(stop), "cudaEventSynchronize");
    float ms = 0.0f;
    check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
    state.SetIterationTime(ms * 1e-3 / runs);
  }
  state.counters["images/s"] =
      benchmark::Counter(batch, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GMAC/s"] =
      benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["launches"] = static_cast<double>(engine.schedule_for(batch).steps.size());
  state.SetLabel(engine.device().name);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaStreamDestroy(stream);
}

template <const auto& Net>
void add(const std::string& name, int batch, bool fuse = true) {
  benchmark::RegisterBenchmark(name.c_str(),
                               [batch, fuse](benchmark::State& s) {
                                 // A failing case is reported as such; the others still run.
                                 try {
                                   run_network<Net>(s, batch, fuse);
                                 } catch (const std::exception& e) {
                                   s.SkipWithError(e.what());
                                 }
                               })
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->MinTime(0.3);
}

template <const auto& Net>
void add_network(const std::string& model, const std::string& size) {
  for (int batch : {1, 256}) {
    const std::string name = "network/" + model + "/" + size + "/batch:" + std::to_string(batch);
    add<Net>(name, batch);
    add<Net>(name + "/unfused", batch, false);
  }
}

template <const auto& Net>
void add_layer(const std::string& what) {
  for (int batch : {1, 64}) add<Net>("layer/" + what + "/batch:" + std::to_string(batch), batch);
}

}  // namespace

int main(int argc, char** argv) {
  if (cuda::device_count() == 0) {
    std::printf("SKIPPED: no CUDA device (or no driver) found: nothing to measure\n");
    return 77;
  }
  add_network<mobilenet_v2>("mobilenet_v2", "224x224");
  add_network<l_mobilenet>("l_mobilenet", "32x32");
  add_network<mobilenet_v2_cifar>("mobilenet_v2_cifar", "32x32");
  add_layer<stem_224>("stem_conv3x3_s2/224x224x3->32");
  add_layer<depthwise_112_s2>("depthwise3x3_s2/112x112x96");
  add_layer<depthwise_56>("depthwise3x3_s1/56x56x144");
  add_layer<depthwise_14>("depthwise3x3_s1/14x14x576");
  add_layer<depthwise_5x5_28>("depthwise5x5_s1/28x28x192");
  add_layer<pointwise_56>("pointwise/56x56x24->144");
  add_layer<pointwise_14>("pointwise/14x14x576->96");
  add_layer<pointwise_7>("pointwise/7x7x320->1280");
  add_layer<classifier>("dense/1280->1000");
  add_layer<inverted_residual_56>("fused_inverted_residual/56x56x24_e144");
  add_layer<inverted_residual_7>("fused_inverted_residual/7x7x160_e960");
  add_layer<l_bottleneck_16>("fused_l_bottleneck/16x16x24_e96");
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}

// SPDX-License-Identifier: Apache-2.0
// Profile and benchmark a network of your own: an MNASNet-like network composed by hand from
// layers (no preset, no block type), run by the simd backend, which finds its bottlenecks by their
// structure and fuses them. It prints where an inference spends its time, step by step, compares
// the fused run with the same network run layer by layer, then runs Google Benchmark cases for
// the whole network and every step, at batches 1 and 8 on one and two threads. Google Benchmark's
// options apply: a step's case runs whole inferences until the step alone has run for
// --benchmark_min_time, so a step of 1% of an inference takes a hundred times its share;
// --benchmark_min_time=0.05 or --benchmark_filter=network keeps a run short.
#include <lmnet/backend/simd.hpp>
#include <lmnet/benchmark.hpp>
#include <lmnet/lmnet.hpp>
#include <lmnet/profile.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <vector>

using namespace lmnet;

// MNASNet's inverted bottleneck written out as layers: expand, depthwise (3x3 or 5x5), project.
template <int Expansion, int Kernel, int Stride>
constexpr auto mbconv(int in, int out) {
  return sequential(pointwise_conv2d{.out = in * Expansion}, batch_norm{}, relu,
                    depthwise_conv2d{.kernel = Kernel, .stride = Stride}, batch_norm{}, relu,
                    pointwise_conv2d{.out = out}, batch_norm{});
}

// 64x64 RGB in, 10 classes. Residuals where the stride is 1 and the width stays.
inline constexpr auto mnas_net =
    network{input{64, 64, 3},
            conv2d{.out = 16, .stride = 2},
            batch_norm{},
            relu,  // 32x32x16
            sequential(depthwise_conv2d{}, batch_norm{}, relu, pointwise_conv2d{.out = 16},
                       batch_norm{}),  // separable convolution
            mbconv<3, 3, 2>(16, 24),   // 16x16x24
            residual(mbconv<3, 3, 1>(24, 24)),
            mbconv<3, 5, 2>(24, 40),  // 8x8x40
            residual(mbconv<3, 5, 1>(40, 40)),
            mbconv<6, 5, 2>(40, 80),  // 4x4x80
            residual(mbconv<6, 5, 1>(80, 80)),
            mbconv<6, 3, 1>(80, 96),
            pointwise_conv2d{.out = 320},
            batch_norm{},
            relu,
            global_avg_pool{},
            dense{.out = 10}};

using fused_backend = backend::simd<>;
using unfused_backend =
    backend::simd<xsimd::default_arch, backend::simd_options{.fuse_blocks = false}>;

// Every bottleneck fuses (the separable one with the stem it reads); without fusion, none does.
static_assert(model<mnas_net, fused_backend>::engine_type::schedule.block_count == 8);
static_assert(model<mnas_net, unfused_backend>::engine_type::schedule.block_count == 0);

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <class Model>
double seconds_of_one(Model& m, const std::vector<float>& image) {
  const auto start = std::chrono::steady_clock::now();
  benchmark::DoNotOptimize(m.infer(image).data());
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  model<mnas_net, fused_backend> fused;
  model<mnas_net, unfused_backend> unfused;
  fused.load(random_weights{1});
  unfused.load(random_weights{1});
  std::vector<float> image(fused.input_shape.size());
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<float>(i % 251) / 251.0f;

  const auto a = fused.infer(image);
  const std::vector<float> fused_logits(a.begin(), a.end());
  const auto b = unfused.infer(image);
  double difference = 0;
  for (std::size_t i = 0; i < b.size(); ++i) {
    difference = std::max(difference, static_cast<double>(std::abs(b[i] - fused_logits[i])));
  }
  std::printf("mnas_net: %zu parameters, %zu MACs; fused and unfused logits differ by %.2g\n\n",
              fused.plan.params(), fused.plan.macs(), difference);

  std::printf("simd backend (%s), bottlenecks fused:\n%s\n", xsimd::default_arch::name(),
              profile(fused, image, 50).table().c_str());
  std::printf("the same network with block fusion off:\n%s\n",
              profile(unfused, image, 50).table().c_str());

  // One inference of each in turn, the first of a pair alternating: on a shared machine both see
  // the same moments, and the median of the per-pair ratios cancels what changes between pairs.
  std::vector<double> fused_times, unfused_times, ratios;
  for (int pair = 0; pair < 400; ++pair) {
    const bool fused_first = pair % 2 == 0;
    const double x = fused_first ? seconds_of_one(fused, image) : seconds_of_one(unfused, image);
    const double y = fused_first ? seconds_of_one(unfused, image) : seconds_of_one(fused, image);
    fused_times.push_back(fused_first ? x : y);
    unfused_times.push_back(fused_first ? y : x);
    ratios.push_back(unfused_times.back() / fused_times.back());
  }
  const double speedup = median(ratios);
  std::printf(
      "whole inference, batch 1, one thread, 400 pairs in alternation: fused %.1f us, "
      "unfused %.1f us (medians); unfused / fused: %.3fx%s\n\n",
      1e6 * median(fused_times), 1e6 * median(unfused_times), speedup,
      speedup >= 1.0 ? ", fusion no slower" : ", fusion slower");

  register_benchmarks<mnas_net, fused_backend>("mnas_net", {.batches = {1, 8}, .threads = {1, 2}});
  register_benchmarks<mnas_net, unfused_backend>(
      "mnas_net_unfused", {.batches = {1, 8}, .threads = {1, 2}, .steps = false});
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}

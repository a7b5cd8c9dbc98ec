// SPDX-License-Identifier: Apache-2.0
// XNNPACK called directly on the layers of bench/layer_cases.hpp (NHWC operators, activation as
// the output clamp, no thread pool: the calling thread): the per-layer peer of bench_simd's
// layer/... benchmarks.
#include "layer_cases.hpp"

#include <benchmark/benchmark.h>
#include <xnnpack.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace {

using namespace lmnet;

std::vector<float> random_floats(std::size_t n) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

void run_layer(benchmark::State& state, const bench::layer_case& c) {
  const layer_spec& s = c.spec;
  const auto input = random_floats(s.input.size());
  const auto weights = random_floats(s.weight_count());  // (O, KH, KW, I/g): XNNPACK's order
  const auto bias = random_floats(static_cast<std::size_t>(s.output.channels));
  std::vector<float> output(s.output.size());
  const float lo = s.act == activation::none ? -std::numeric_limits<float>::infinity() : 0.0f;
  const float hi = s.act == activation::relu6 ? 6.0f : std::numeric_limits<float>::infinity();
  xnn_operator_t op = nullptr;
  xnn_status status;
  if (s.kind == op::dense) {
    const std::size_t k = s.input.size(), o = static_cast<std::size_t>(s.output.channels);
    status =
        xnn_create_fully_connected_nc_f32(k, o, k, o, weights.data(), bias.data(), lo, hi, 0, &op);
    if (status == xnn_status_success) {
      status = xnn_setup_fully_connected_nc_f32(op, 1, input.data(), output.data(), nullptr);
    }
  } else {
    const int g = s.groups;
    auto pad_after = [](int in, int out, int k, int stride, int pad) {
      return static_cast<std::uint32_t>((out - 1) * stride + k - in - pad);
    };
    status = xnn_create_convolution2d_nhwc_f32(
        static_cast<std::uint32_t>(s.padding.height),
        pad_after(s.input.width, s.output.width, s.kernel.width, s.stride.width, s.padding.width),
        pad_after(s.input.height, s.output.height, s.kernel.height, s.stride.height,
                  s.padding.height),
        static_cast<std::uint32_t>(s.padding.width), static_cast<std::uint32_t>(s.kernel.height),
        static_cast<std::uint32_t>(s.kernel.width), static_cast<std::uint32_t>(s.stride.height),
        static_cast<std::uint32_t>(s.stride.width), 1, 1, static_cast<std::uint32_t>(g),
        static_cast<std::size_t>(s.input.channels / g),
        static_cast<std::size_t>(s.output.channels / g), static_cast<std::size_t>(s.input.channels),
        static_cast<std::size_t>(s.output.channels), weights.data(), bias.data(), lo, hi, 0, &op);
    if (status == xnn_status_success) {
      status = xnn_setup_convolution2d_nhwc_f32(op, 1, static_cast<std::size_t>(s.input.height),
                                                static_cast<std::size_t>(s.input.width),
                                                input.data(), output.data(), nullptr);
    }
  }
  if (status != xnn_status_success) {
    state.SkipWithError("XNNPACK could not create or set up the operator");
    return;
  }
  for (auto _ : state) xnn_run_operator(op, nullptr);
  xnn_delete_operator(op);
  state.counters["GFLOP/s"] =
      benchmark::Counter(c.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] =
      benchmark::Counter(c.bytes() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  if (xnn_initialize(nullptr) != xnn_status_success) return 1;
  for (const bench::layer_case& c : bench::layer_cases()) {
    benchmark::RegisterBenchmark((c.name() + "/xnnpack").c_str(), [c](benchmark::State& state) {
      run_layer(state, c);
    })->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// Batch-1 latency of the presets on the reference backend: the baseline other backends are
// measured against.
#include <lmnet/lmnet.hpp>

#include <benchmark/benchmark.h>

#include <vector>

namespace {

inline constexpr auto l_mobilenet = lmnet::models::l_mobilenet({.classes = 10});
inline constexpr auto mobilenet_v2_cifar =
    lmnet::models::mobilenet_v2({.classes = 10, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_cifar =
    lmnet::models::shufflenet_v2({.classes = 10, .resolution = 32, .cifar = true});

template <const auto& Net>
void BM_Network_Reference(benchmark::State& state) {
  lmnet::model<Net> m;
  m.load(lmnet::random_weights{1});
  const std::vector<float> image(m.input_shape.size(), 0.5f);
  for (auto _ : state) benchmark::DoNotOptimize(m.infer(image).data());
  state.counters["GMAC/s"] =
      benchmark::Counter(static_cast<double>(lmnet::plan_of<Net>.macs()) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK_TEMPLATE(BM_Network_Reference, l_mobilenet)
    ->Name("network/reference/l_mobilenet/32x32")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Network_Reference, mobilenet_v2_cifar)
    ->Name("network/reference/mobilenet_v2_cifar/32x32")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_TEMPLATE(BM_Network_Reference, shufflenet_v2_cifar)
    ->Name("network/reference/shufflenet_v2_cifar/32x32")
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

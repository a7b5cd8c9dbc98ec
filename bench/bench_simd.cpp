// SPDX-License-Identifier: Apache-2.0
// The simd backend's benchmarks:
// - peak/fma: the machine's fp32 FMA peak (independent FMA chains on registers);
// - layer/<net>/<node>_<shape>/lmnet: each distinct weight layer of MobileNetV2 (224x224) and
//   L-Mobilenet (32x32) alone, activations from memory;
// - block/<net>/<node>: each fused bottleneck of those networks alone;
// - network/<model>/<HxW>/threads:<n>: whole networks, batch 1, on 1 and 2 threads;
// - memory/weights/mobilenet_v2: one read of MobileNetV2's packed weights, the floor at 32x32.
// Layers and blocks report GFLOP/s and GB/s (activations and weights moved once).
#include "layer_cases.hpp"

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace lmnet;
using arch = xsimd::default_arch;
using vec = simd::vector<arch>;

aligned_buffer random_buffer(std::size_t n, std::uint32_t seed) {
  aligned_buffer b(n);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  for (float& v : b.span()) v = d(rng);
  return b;
}

void set_counters(benchmark::State& state, double flops, double bytes) {
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] =
      benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

// 12 independent FMA chains per iteration step: enough to cover the FMA latency on two ports.
void fma_peak(benchmark::State& state) {
  using B = vec::batch;
  constexpr int chains = 12, steps = 256;
  B acc[chains];
  for (int j = 0; j < chains; ++j) acc[j] = vec::broadcast(1.0f + 0.001f * static_cast<float>(j));
  const B a = vec::broadcast(0.9999f), b = vec::broadcast(1e-6f);
  for (auto _ : state) {
    for (int i = 0; i < steps; ++i) {
#pragma GCC unroll 12
      for (int j = 0; j < chains; ++j) acc[j] = vec::fma(acc[j], a, b);
    }
#pragma GCC unroll 12
    for (int j = 0; j < chains; ++j) benchmark::DoNotOptimize(acc[j]);
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * chains * steps * vec::width * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(arch::name());
}

// Reads a network's packed weights once per iteration, as an inference must: at small inputs
// (MobileNetV2 at 32x32) this is the floor under any fp32 kernel on this machine.
template <const auto& Net>
void weight_stream(benchmark::State& state) {
  using engine = model<Net, backend::simd<>>::engine_type;
  using B = vec::batch;
  const aligned_buffer weights = random_buffer(engine::schedule.weight_floats, 7);
  constexpr auto width = static_cast<std::size_t>(vec::width);
  const std::size_t whole = weights.size() / (4 * width) * (4 * width);
  for (auto _ : state) {
    B acc[4] = {vec::zero(), vec::zero(), vec::zero(), vec::zero()};
    for (std::size_t i = 0; i < whole; i += 4 * width) {
#pragma GCC unroll 4
      for (std::size_t j = 0; j < 4; ++j)
        acc[j] = acc[j] + vec::load_aligned(weights.data() + i + j * width);
    }
    benchmark::DoNotOptimize(acc);
  }
  state.counters["GB/s"] = benchmark::Counter(4.0 * static_cast<double>(whole) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  state.counters["MB"] = 4.0 * static_cast<double>(whole) / (1 << 20);
}

void run_layer(benchmark::State& state, const bench::layer_case& c) {
  const layer_spec& s = c.spec;
  const simd::packing p = simd::packing_for(s, vec::width, vec::registers);
  const aligned_buffer weights = random_buffer(s.weight_count(), 1);
  const aligned_buffer bias = random_buffer(static_cast<std::size_t>(s.output.channels), 2);
  aligned_buffer packed(p.floats);
  simd::pack_weights(s, p, weights.data(), bias.data(), packed.span());
  const aligned_buffer input = random_buffer(s.input.size(), 3);
  aligned_buffer output(s.output.size());
  aligned_buffer scratch(std::max(simd::conv2d_scratch_floats(s), simd::dense_scratch_floats(s)));
  const tensor_view<const float> in{
      input.data(), 1, s.input.height, s.input.width, s.input.channels, s.input.channels};
  const tensor_view<float> out{
      output.data(), 1, s.output.height, s.output.width, s.output.channels, s.output.channels};
  for (auto _ : state) {
    switch (s.kind) {
      case op::pointwise_conv2d:
        simd::pointwise<arch>(s, in, out, {}, packed.data(), p, 0, s.output.height);
        break;
      case op::depthwise_conv2d:
        simd::depthwise<arch>(s, in, out, {}, packed.data(), 0, s.output.height);
        break;
      case op::conv2d:
        simd::conv2d<arch>(s, in, out, {}, packed.data(), p, 0, s.output.height, scratch.data());
        break;
      default:
        simd::dense<arch>(s, in, out, packed.data(), p, 0, 1, 0, 1, scratch.data());
        break;
    }
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  set_counters(state, c.flops(), c.bytes());
  // Formatted in place: GCC 12 reports a false -Wrestrict on "x" + std::to_string(...) here.
  char label[16] = "";
  if (c.repeats > 1) std::snprintf(label, sizeof label, "x%d", c.repeats);
  state.SetLabel(label);
}

// Every fused block of a network's schedule, alone.
template <const auto& Net>
void register_blocks(const char* network) {
  using engine_type = model<Net, backend::simd<>>::engine_type;
  constexpr auto& plan = plan_of<Net>;
  constexpr auto& schedule = engine_type::schedule;
  for (int b = 0; b < schedule.block_count; ++b) {
    const simd::fused_block& f = schedule.blocks[static_cast<std::size_t>(b)];
    const node& proj = plan.nodes[static_cast<std::size_t>(f.project)];
    const int first = f.expand >= 0 ? f.expand : f.branches[0].nodes[0];
    double macs = 0, weights = 0;
    for (int i = first; i <= f.project; ++i) {
      macs += static_cast<double>(plan.nodes[static_cast<std::size_t>(i)].spec.macs());
      weights += static_cast<double>(plan.nodes[static_cast<std::size_t>(i)].spec.weight_count());
    }
    const shape in = plan.value_at(f.input).image, out = proj.spec.output;
    const std::string name = "block/" + std::string(network) + "/" + std::to_string(f.project) +
                             "_" + std::to_string(in.height) + "x" + std::to_string(in.width) +
                             "x" + std::to_string(in.channels) + "_to_" +
                             std::to_string(out.height) + "x" + std::to_string(out.width) + "x" +
                             std::to_string(out.channels);
    benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& state) {
      aligned_buffer packed(schedule.weight_floats);
      for (int i = first; i <= f.project; ++i) {
        const node& n = plan.nodes[static_cast<std::size_t>(i)];
        if (!has_weights(n.kind())) continue;
        const simd::packing& p = schedule.packs[static_cast<std::size_t>(i)];
        const aligned_buffer w =
            random_buffer(n.spec.weight_count(), static_cast<std::uint32_t>(i));
        const aligned_buffer bias =
            random_buffer(static_cast<std::size_t>(n.spec.output.channels), 7);
        simd::pack_weights(n.spec, p, w.data(), bias.data(), {packed.data() + p.offset, p.floats});
      }
      const aligned_buffer input = random_buffer(in.size(), 3);
      aligned_buffer output(out.size()), scratch(schedule.scratch_floats);
      const tensor_view<const float> x{input.data(), 1,           in.height,
                                       in.width,     in.channels, in.channels};
      const tensor_view<float> y{output.data(), 1,           out.height, out.width,
                                 out.channels,  out.channels};
      const tensor_view<const float> residual = proj.residual >= 0 ? x : tensor_view<const float>{};
      for (auto _ : state) {
        simd::run_fused_block<arch>(f, plan.nodes.data(), schedule.packs.data(), packed.data(), x,
                                    y, residual, 0, 0, out.height, scratch.data());
        benchmark::DoNotOptimize(output.data());
        benchmark::ClobberMemory();
      }
      set_counters(state, 2 * macs, 4.0 * (static_cast<double>(in.size() + out.size()) + weights));
    });
  }
}

template <const auto& Net>
void network(benchmark::State& state, int threads) {
  std::unique_ptr<thread_pool> pool;
  std::unique_ptr<model<Net, backend::simd<>>> m;
  if (threads > 1) {
    pool = std::make_unique<thread_pool>(threads);
    m = std::make_unique<model<Net, backend::simd<>>>(1, *pool);
  } else {
    m = std::make_unique<model<Net, backend::simd<>>>(1);
  }
  m->load(random_weights{1});
  const aligned_buffer image = random_buffer(m->input_shape.size(), 5);
  for (auto _ : state) benchmark::DoNotOptimize(m->infer(image.span()).data());
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(plan_of<Net>.macs()) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

inline constexpr auto mobilenet_v2_32 = models::mobilenet_v2({.resolution = 32});
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_cifar =
    models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});

template <const auto& Net>
void register_network(const std::string& name) {
  for (int threads : {1, 2}) {
    benchmark::RegisterBenchmark(
        (name + "/threads:" + std::to_string(threads)).c_str(),
        [threads](benchmark::State& state) { network<Net>(state, threads); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::RegisterBenchmark("peak/fma", fma_peak);
  for (const bench::layer_case& c : bench::layer_cases()) {
    benchmark::RegisterBenchmark((c.name() + "/lmnet").c_str(), [c](benchmark::State& state) {
      run_layer(state, c);
    })->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("memory/weights/mobilenet_v2",
                               weight_stream<bench::mobilenet_v2_224>)
      ->Unit(benchmark::kMillisecond);
  register_blocks<bench::mobilenet_v2_224>("mobilenet_v2_224");
  register_blocks<bench::l_mobilenet_32>("l_mobilenet_32");
  register_network<bench::mobilenet_v2_224>("network/mobilenet_v2/224x224");
  register_network<mobilenet_v2_32>("network/mobilenet_v2/32x32");
  register_network<mobilenet_v2_cifar>("network/mobilenet_v2_cifar/32x32");
  register_network<shufflenet_v2_cifar>("network/shufflenet_v2_cifar/32x32");
  register_network<bench::l_mobilenet_32>("network/l_mobilenet/32x32");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

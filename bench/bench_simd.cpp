// SPDX-License-Identifier: Apache-2.0
// The simd backend's benchmarks:
// - peak/fma: the machine's fp32 FMA peak (independent FMA chains on registers);
// - layer/<net>/<node>_<shape>/lmnet: each distinct weight layer of MobileNetV2 (224x224) and
//   L-Mobilenet (32x32) alone, activations from memory;
// - block/<net>/<node>: each fused bottleneck of those networks alone;
// - network/<model>/<HxW>/threads:<n>: whole networks, batch 1, on 1 and 2 threads;
// - network_int8/<model>/<HxW>/threads:<n>: the same in int8 (bench::int8_quantization);
// - memory/weights/mobilenet_v2: one read of MobileNetV2's packed weights, the floor at 32x32;
// - paired/<net>/<node>_<shape>: a pointwise layer's fraction of the FMA peak, the two timed in
//   alternation (fraction_of_peak);
// - paired/threads/mobilenet_v2/224x224: one and two threads in alternation (speedup).
// Layers and blocks report GFLOP/s and GB/s (activations and weights moved once).
#include "layer_cases.hpp"
#include "network_cases.hpp"

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
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

// 12 independent FMA chains, `steps` FMAs each: enough to cover the FMA latency on two ports.
struct fma_chains {
  static constexpr int chains = 12;
  using B = vec::batch;
  B acc[chains];
  fma_chains() {
    for (int j = 0; j < chains; ++j) acc[j] = vec::broadcast(1.0f + 0.001f * static_cast<float>(j));
  }
  [[gnu::noinline]] void run(int steps) {
    // On a local copy whose address is never taken, so that it stays in registers.
    B x[chains];
    for (int j = 0; j < chains; ++j) x[j] = acc[j];
    const B a = vec::broadcast(0.9999f), b = vec::broadcast(1e-6f);
    for (int i = 0; i < steps; ++i) {
#pragma GCC unroll 12
      for (int j = 0; j < chains; ++j) x[j] = vec::fma(x[j], a, b);
    }
    for (int j = 0; j < chains; ++j) acc[j] = x[j];
    benchmark::DoNotOptimize(acc);
  }
  static double flops(int steps) {
    return 2.0 * chains * steps * vec::width;
  }
};

void fma_peak(benchmark::State& state) {
  constexpr int steps = 256;
  fma_chains chains;
  for (auto _ : state) chains.run(steps);
  state.counters["GFLOP/s"] = benchmark::Counter(fma_chains::flops(steps) * 1e-9,
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

// One layer alone on random weights and inputs, activations from memory.
class layer_run {
 public:
  explicit layer_run(const bench::layer_case& c)
      : s_(c.spec),
        packing_(simd::packing_for(s_, vec::width, vec::registers)),
        packed_(packing_.floats),
        input_(random_buffer(s_.input.size(), 3)),
        output_(s_.output.size()),
        scratch_(std::max(simd::conv2d_scratch_floats(s_), simd::dense_scratch_floats(s_))) {
    const aligned_buffer weights = random_buffer(s_.weight_count(), 1);
    const aligned_buffer bias = random_buffer(static_cast<std::size_t>(s_.output.channels), 2);
    simd::pack_weights(s_, packing_, weights.data(), bias.data(), packed_.span());
  }

  void operator()() {
    const tensor_view<const float> in{
        input_.data(), 1, s_.input.height, s_.input.width, s_.input.channels, s_.input.channels};
    const tensor_view<float> out{output_.data(),     1,
                                 s_.output.height,   s_.output.width,
                                 s_.output.channels, s_.output.channels};
    const float* packed = packed_.data();
    switch (s_.kind) {
      case op::pointwise_conv2d:
        simd::pointwise<arch>(s_, in, out, {}, packed, packing_, 0, s_.output.height);
        break;
      case op::depthwise_conv2d:
        simd::depthwise<arch>(s_, in, out, {}, packed, 0, s_.output.height);
        break;
      case op::conv2d:
        simd::conv2d<arch>(s_, in, out, {}, packed, packing_, 0, s_.output.height, scratch_.data());
        break;
      default:
        simd::dense<arch>(s_, in, out, packed, packing_, 0, 1, 0, simd::dense_blocks(packing_),
                          scratch_.data());
        break;
    }
    benchmark::DoNotOptimize(output_.data());
    benchmark::ClobberMemory();
  }

 private:
  layer_spec s_;
  simd::packing packing_;
  aligned_buffer packed_, input_, output_, scratch_;
};

void run_layer(benchmark::State& state, const bench::layer_case& c) {
  layer_run layer(c);
  for (auto _ : state) layer();
  set_counters(state, c.flops(), c.bytes());
  // Formatted in place: GCC 12 reports a false -Wrestrict on "x" + std::to_string(...) here.
  char label[16] = "";
  if (c.repeats > 1) std::snprintf(label, sizeof label, "x%d", c.repeats);
  state.SetLabel(label);
}

using seconds = std::chrono::duration<double>;

template <class F>
double time_of(F&& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return seconds(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n == 0 ? 0.0 : n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A layer's fraction of the FMA peak with both timed in alternation, about 100 us each: on a
// shared machine whose speed changes from one second to the next, each slice of the layer is
// compared with the peak of the same moment. Reports the median over the pairs.
void paired_fraction(benchmark::State& state, const bench::layer_case& c) {
  layer_run layer(c);
  fma_chains chains;
  constexpr double slice = 100e-6;
  constexpr int peak_steps = 256;
  // Calls per slice, from the best of a few warm calls.
  auto calls_per_slice = [&](auto&& f) {
    double best = 1.0;
    for (int i = 0; i < 5; ++i) best = std::min(best, time_of(f));
    return std::clamp(static_cast<int>(slice / std::max(best, 1e-9)), 1, 100000);
  };
  const int calls = calls_per_slice([&] { layer(); });
  const int peak_calls = calls_per_slice([&] { chains.run(peak_steps); });
  std::vector<double> fractions, peak_rates;
  for (auto _ : state) {
    const double peak = time_of([&] {
      for (int i = 0; i < peak_calls; ++i) chains.run(peak_steps);
    });
    const double run = time_of([&] {
      for (int i = 0; i < calls; ++i) layer();
    });
    const double peak_rate = fma_chains::flops(peak_steps) * peak_calls / peak;
    fractions.push_back(c.flops() * calls / run / peak_rate);
    peak_rates.push_back(peak_rate);
  }
  state.counters["fraction_of_peak"] = median(fractions);
  state.counters["peak_GFLOP/s"] = 1e-9 * median(peak_rates);
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
  m->load(random_weights{bench::weight_seed});
  const aligned_buffer image = bench::network_input(m->input_shape.size());
  for (auto _ : state) benchmark::DoNotOptimize(m->infer(image.span()).data());
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(plan_of<Net>.macs()) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

// The speedup of two threads over one, timed in alternation so that both see the same state of a
// shared machine: each iteration runs a burst of one-thread inferences, then a burst of
// two-thread ones, and takes the median of each burst (its first inference wakes the pool).
// Reports the medians over the bursts and the median of the per-iteration ratios.
template <const auto& Net>
void paired_threads(benchmark::State& state) {
  constexpr int burst = 7;
  thread_pool pool(2);
  model<Net, backend::simd<>> one(1), two(1, pool);
  one.load(random_weights{1});
  two.load(random_weights{1});
  const aligned_buffer image = random_buffer(one.input_shape.size(), 5);
  auto burst_median = [&](auto& m) {
    std::vector<double> t;
    for (int i = 0; i < burst; ++i)
      t.push_back(time_of([&] { benchmark::DoNotOptimize(m.infer(image.span()).data()); }));
    return median(t);
  };
  std::vector<double> t1, t2, speedups;
  for (auto _ : state) {
    t1.push_back(burst_median(one));
    t2.push_back(burst_median(two));
    speedups.push_back(t1.back() / t2.back());
  }
  state.counters["threads_1_ms"] = 1e3 * median(t1);
  state.counters["threads_2_ms"] = 1e3 * median(t2);
  state.counters["speedup"] = median(speedups);
}

// The same in int8 (backend::int8<backend::simd<>>), calibrated on bench::calibration_images().
template <const auto& Net>
void network_int8(benchmark::State& state, int threads) {
  std::unique_ptr<thread_pool> pool;
  std::unique_ptr<bench::int8_model<Net>> m;
  if (threads > 1) {
    pool = std::make_unique<thread_pool>(threads);
    m = std::make_unique<bench::int8_model<Net>>(1, *pool);
  } else {
    m = std::make_unique<bench::int8_model<Net>>(1);
  }
  bench::load_int8(*m);
  const aligned_buffer image = bench::network_input(m->input_shape.size());
  for (auto _ : state) benchmark::DoNotOptimize(m->infer(image.span()).data());
  state.counters["GOP/s"] =
      benchmark::Counter(2.0 * static_cast<double>(plan_of<Net>.macs()) * 1e-9,
                         benchmark::Counter::kIsIterationInvariantRate);
}

template <const auto& Net>
void register_network(const char* model, int size) {
  for (int threads : {1, 2}) {
    const std::string suffix = "/threads:" + std::to_string(threads);
    benchmark::RegisterBenchmark(
        (bench::network_name(model, size) + suffix).c_str(),
        [threads](benchmark::State& state) { network<Net>(state, threads); })
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark(
        (bench::network_name(model, size, "network_int8") + suffix).c_str(),
        [threads](benchmark::State& state) { network_int8<Net>(state, threads); })
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
  for (const bench::layer_case& c : bench::layer_cases()) {
    if (c.spec.kind != op::pointwise_conv2d) continue;
    const std::string name = "paired/" + c.name().substr(std::string("layer/").size());
    benchmark::RegisterBenchmark(name.c_str(), [c](benchmark::State& state) {
      paired_fraction(state, c);
    })->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("memory/weights/mobilenet_v2",
                               weight_stream<bench::mobilenet_v2_224>)
      ->Unit(benchmark::kMillisecond);
  register_blocks<bench::mobilenet_v2_224>("mobilenet_v2_224");
  register_blocks<bench::l_mobilenet_32>("l_mobilenet_32");
  bench::for_each_network(
      []<const auto & Net>(const char* model, int size) { register_network<Net>(model, size); });
  benchmark::RegisterBenchmark("paired/threads/mobilenet_v2/224x224",
                               paired_threads<bench::mobilenet_v2_224>)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// Google Benchmark cases for any network in one call: the whole network and each step of its
// backend, for every batch size and thread count asked for. Needs Google Benchmark: link
// `benchmark::benchmark` (Debian: libbenchmark-dev).
//
//     lmnet::register_benchmarks<my_net, lmnet::backend::simd<>>(
//         "my_net", {.batches = {1, 8}, .threads = {1, 2}});   // random weights
//     benchmark::Initialize(&argc, argv);
//     benchmark::RunSpecifiedBenchmarks();
//
// Cases: `<name>/network/batch:B/threads:T` and `<name>/step/K/<module path>/batch:B/threads:T`
// for step K (its op as the label), to which Google Benchmark appends how each is timed. A step is
// timed inside whole inferences, by the profile's step observer (lmnet/profile.hpp), so that it
// reads what the steps before it wrote, from where they left it. Counters: MAC/s and GFLOP/s, and
// images/s for the whole network.
#pragma once

#include <lmnet/core/thread_pool.hpp>
#include <lmnet/lmnet.hpp>  // the reference backend, model, weight sources, in an order -Wshadow accepts
#include <lmnet/profile.hpp>

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

namespace lmnet {

/// What register_benchmarks registers.
struct benchmark_options {
  std::vector<int> batches{1};  // images per inference
  std::vector<int> threads{1};  // executor threads (backends that take an executor)
  bool steps = true;            // a case per step of the backend, besides the whole network
};

namespace detail {

// A StepObserver that times one step.
class one_step_clock {
 public:
  explicit one_step_clock(int step) : step_(step) {}
  void step_begins(int step) {
    if (step == step_) begin_ = std::chrono::steady_clock::now();
  }
  void step_ends(int step) {
    if (step == step_) {
      seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin_).count();
    }
  }
  double seconds() const { return seconds_; }

 private:
  int step_;
  std::chrono::steady_clock::time_point begin_{};
  double seconds_ = 0;
};

// One case's model: a batch of random images on `threads` threads, with the folded weights.
template <class Model>
class benchmark_run {
 public:
  static constexpr bool takes_executor =
      std::is_constructible_v<typename Model::engine_type, int, thread_pool&>;

  benchmark_run(std::span<const float> folded, int batch, int threads) : batch_(batch) {
    if constexpr (takes_executor) {
      if (threads > 1) pool_ = std::make_unique<thread_pool>(threads);
    }
    if (pool_) {
      if constexpr (takes_executor) model_ = std::make_unique<Model>(batch, *pool_);
    } else {
      model_ = std::make_unique<Model>(batch);
    }
    model_->load_folded(folded);
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
    images_.resize(Model::input_shape.size() * static_cast<std::size_t>(batch));
    for (float& v : images_) v = pixel(rng);
  }

  template <class Observer = no_step_observer>
  std::span<const float> infer(Observer&& observer = {}) {
    return model_->infer(images_, batch_, observer);
  }

 private:
  int batch_;
  std::unique_ptr<thread_pool> pool_;
  std::unique_ptr<Model> model_;
  std::vector<float> images_;
};

inline void set_rate_counters(benchmark::State& state, double macs_per_iteration) {
  state.counters["MAC/s"] =
      benchmark::Counter(macs_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GFLOP/s"] =
      benchmark::Counter(2e-9 * macs_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

inline std::vector<std::int64_t> checked_counts(const std::vector<int>& counts, const char* what) {
  if (counts.empty()) throw error(std::string("register_benchmarks: no ") + what + " given");
  std::vector<std::int64_t> out;
  for (const int n : counts) {
    if (n < 1) {
      throw error(std::string("register_benchmarks: ") + what + " must be at least 1, got " +
                  std::to_string(n));
    }
    out.push_back(n);
  }
  return out;
}

}  // namespace detail

/// Registers Google Benchmark cases for network `Net` on `Backend` (see the top of this file),
/// with the weights of `weights` (any WeightSource, read and folded once, now). Throws
/// lmnet::error for an empty name, an empty or non-positive batch or thread list, or threads
/// above 1 on a backend that takes no executor.
template <const auto& Net, class Backend = backend::reference,
          compile_options Options = compile_options{}, WeightSource Source>
void register_benchmarks(const std::string& name, const benchmark_options& options,
                         Source&& weights) {
  using model_type = model<Net, Backend, Options>;
  using run_type = detail::benchmark_run<model_type>;
  if (name.empty()) throw error("register_benchmarks: the name is empty");
  const std::vector<std::int64_t> batches = detail::checked_counts(options.batches, "batches");
  const std::vector<std::int64_t> threads = detail::checked_counts(options.threads, "threads");
  if constexpr (!run_type::takes_executor) {
    for (const std::int64_t t : threads) {
      if (t > 1) {
        throw error("register_benchmarks: '" + name +
                    "': this backend takes no executor, so threads must be 1, got " +
                    std::to_string(t));
      }
    }
  }
  auto folded = std::make_shared<const std::vector<float>>([&] {
    std::vector<float> f(model_type::plan.weight_floats);
    bind_weights(model_type::plan, weights, std::span<float>(f));
    return f;
  }());
  const auto macs = static_cast<double>(model_type::plan.macs());

  benchmark::RegisterBenchmark((name + "/network").c_str(),
                               [folded, macs](benchmark::State& state) {
                                 const int batch = static_cast<int>(state.range(0));
                                 run_type run(*folded, batch, static_cast<int>(state.range(1)));
                                 for (auto _ : state) benchmark::DoNotOptimize(run.infer().data());
                                 detail::set_rate_counters(state, macs * batch);
                                 state.counters["images/s"] = benchmark::Counter(
                                     batch, benchmark::Counter::kIsIterationInvariantRate);
                               })
      ->ArgNames({"batch", "threads"})
      ->ArgsProduct({batches, threads})
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  if (!options.steps) return;

  const std::vector<step_profile> steps = detail::describe_steps<model_type>();
  for (std::size_t k = 0; k < steps.size(); ++k) {
    const step_profile& s = steps[k];
    const std::string label =
        s.op +
        (s.covers.empty() ? "" : " [" + detail::joined(s.covers, 0, s.covers.size(), " ") + "]");
    // A fused block whose layers share no path prefix goes by the paths it covers.
    const std::string case_name =
        name + "/step/" + std::to_string(k) + "/" +
        (s.path.empty() ? detail::joined(s.covers, 0, s.covers.size(), ",") : s.path);
    const auto step = static_cast<int>(k);
    const auto step_macs = static_cast<double>(s.macs);
    benchmark::RegisterBenchmark(case_name.c_str(),
                                 [folded, step, step_macs, label](benchmark::State& state) {
                                   const int batch = static_cast<int>(state.range(0));
                                   run_type run(*folded, batch, static_cast<int>(state.range(1)));
                                   detail::one_step_clock clock(step);
                                   for (auto _ : state) {
                                     benchmark::DoNotOptimize(run.infer(clock).data());
                                     state.SetIterationTime(clock.seconds());
                                   }
                                   detail::set_rate_counters(state, step_macs * batch);
                                   state.SetLabel(label);
                                 })
        ->ArgNames({"batch", "threads"})
        ->ArgsProduct({batches, threads})
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
  }
}

/// The same with random weights (lmnet::random_weights{1}).
template <const auto& Net, class Backend = backend::reference,
          compile_options Options = compile_options{}>
void register_benchmarks(const std::string& name, const benchmark_options& options = {}) {
  register_benchmarks<Net, Backend, Options>(name, options, random_weights{1});
}

}  // namespace lmnet

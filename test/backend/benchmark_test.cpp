// SPDX-License-Identifier: Apache-2.0
// lmnet/benchmark.hpp: the Google Benchmark cases register_benchmarks registers for a network (the
// whole network and each step, per batch size and thread count), their counters, the weights they
// run with, and the misuse it refuses.
#include <lmnet/backend/simd.hpp>
#include <lmnet/benchmark.hpp>
#include <lmnet/lmnet.hpp>

#include <benchmark/benchmark.h>
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace lmnet;

namespace {

inline constexpr auto small_net = network{input{10, 8, 3},
                                          conv2d{.out = 8, .stride = 2},
                                          batch_norm{},
                                          relu,
                                          inverted_residual{.out = 8, .expansion = 3, .kernel = 5},
                                          global_avg_pool{},
                                          dense{.out = 4}};

// Keeps every run it is told of.
class run_collector : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context&) override { return true; }
  void ReportRuns(const std::vector<Run>& reported) override {
    for (const Run& r : reported) runs.push_back(r);
  }
  std::vector<Run> runs;
};

// Runs the registered cases whose names match `filter`, briefly, and forgets every case.
std::vector<benchmark::BenchmarkReporter::Run> run_cases(const std::string& filter) {
  static const bool initialised = [] {
    static char program[] = "test", min_time[] = "--benchmark_min_time=0.0001";
    static char* argv[] = {program, min_time, nullptr};
    int argc = 2;
    benchmark::Initialize(&argc, argv);
    return true;
  }();
  (void)initialised;
  run_collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector, filter);
  benchmark::ClearRegisteredBenchmarks();
  return collector.runs;
}

// The runs' names, one a line (doctest then prints them on a mismatch).
std::string names_of(const std::vector<benchmark::BenchmarkReporter::Run>& runs) {
  std::string names;
  for (const auto& r : runs) names += r.benchmark_name() + "\n";
  return names;
}

std::string lines(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += n + "\n";
  return s;
}

// A WeightSource that counts the tensors read through it.
struct counting_source {
  random_weights inner{3};
  int* reads;
  void read(const std::string& name, std::span<const std::int64_t> shape, std::span<float> out) {
    ++*reads;
    inner.read(name, shape, out);
  }
  void finish() { inner.finish(); }
};

}  // namespace

TEST_CASE("register_benchmarks: the whole network and every step, per batch and thread count") {
  register_benchmarks<small_net>("ref", {.batches = {1, 2}});
  const auto runs = run_cases("^ref/");
  // Google Benchmark appends how each case is timed: whole inferences in real time, steps in the
  // time the step observer measured.
  std::vector<std::string> expected;
  for (const char* batch : {"1", "2"}) {
    expected.push_back(std::string("ref/network/batch:") + batch + "/threads:1/real_time");
  }
  for (const char* step : {"0/0", "1/3.conv.0.0", "2/3.conv.1.0", "3/3.conv.2", "4/4", "5/5"}) {
    for (const char* batch : {"1", "2"}) {
      expected.push_back(std::string("ref/step/") + step + "/batch:" + batch +
                         "/threads:1/manual_time");
    }
  }
  CHECK(names_of(runs) == lines(expected));
  CHECK(runs[2].report_label == "conv2d");
  CHECK(runs[4].report_label == "pointwise_conv2d");
}

TEST_CASE("register_benchmarks: simd steps, threads, and counters that are rates") {
  using engine = model<small_net, backend::simd<>>::engine_type;
  static_assert(engine::step_count() == 4);
  register_benchmarks<small_net, backend::simd<>>("fast", {.batches = {1, 3}, .threads = {1, 2}});
  const auto runs = run_cases("^fast/");
  std::vector<std::string> expected;
  for (const char* kind : {"network", "step/0/0", "step/1/3.conv", "step/2/4", "step/3/5"}) {
    // Google Benchmark varies the first argument fastest.
    for (const char* args :
         {"batch:1/threads:1", "batch:3/threads:1", "batch:1/threads:2", "batch:3/threads:2"}) {
      expected.push_back(std::string("fast/") + kind + "/" + args +
                         (kind == std::string("network") ? "/real_time" : "/manual_time"));
    }
  }
  REQUIRE(names_of(runs) == lines(expected));
  // The bottleneck runs fused: one step, labelled with its op and the layers it covers.
  CHECK(runs[8].report_label == "fused_block[pointwise+depthwise+pointwise] [0.0 1.0 2]");

  // A rate is the work of every iteration over the (real, or for steps measured) time.
  const double macs = static_cast<double>(plan_of<small_net>.macs());
  double step_macs = 0;
  for (const auto& r : runs) {
    INFO(r.benchmark_name());
    REQUIRE(r.iterations > 0);
    REQUIRE(r.real_accumulated_time > 0);
    const double batch = r.benchmark_name().find("batch:3") != std::string::npos ? 3.0 : 1.0;
    const double per_image = r.counters.at("MAC/s").value * r.real_accumulated_time /
                             static_cast<double>(r.iterations) / batch;
    CHECK(r.counters.at("GFLOP/s").value == doctest::Approx(2e-9 * r.counters.at("MAC/s").value));
    if (r.benchmark_name().starts_with("fast/network/")) {
      CHECK(per_image == doctest::Approx(macs));
      CHECK(r.counters.at("images/s").value * r.real_accumulated_time ==
            doctest::Approx(batch * static_cast<double>(r.iterations)));
    } else if (r.benchmark_name().find("batch:3/threads:2") != std::string::npos) {
      step_macs += per_image;
    }
  }
  CHECK(step_macs == doctest::Approx(macs));
}

TEST_CASE("register_benchmarks: a step case's clock times its own step only") {
  using namespace std::chrono_literals;
  detail::one_step_clock clock(2);
  for (int step = 0; step < 4; ++step) {
    clock.step_begins(step);
    if (step == 1) std::this_thread::sleep_for(50ms);
    if (step == 2) std::this_thread::sleep_for(1ms);
    clock.step_ends(step);
  }
  CHECK(clock.seconds() >= 0.001);
  CHECK(clock.seconds() < 0.05);
}

TEST_CASE("register_benchmarks: weights from the caller's source, read once when registering") {
  int reads = 0;
  register_benchmarks<small_net>("weights", {.steps = false}, counting_source{.reads = &reads});
  const int tensors = reads;
  CHECK(tensors > 0);
  const auto runs = run_cases("^weights/");
  CHECK(names_of(runs) == "weights/network/batch:1/threads:1/real_time\n");
  CHECK(reads == tensors);
}

TEST_CASE("register_benchmarks: misuse is an lmnet::error that says what is wrong") {
  CHECK_THROWS_WITH_AS(register_benchmarks<small_net>("ref", {.threads = {1, 2}}),
                       "lmnet: register_benchmarks: 'ref': this backend takes no executor, so "
                       "threads must be 1, got 2",
                       lmnet::error);
  CHECK_THROWS_WITH_AS(register_benchmarks<small_net>("ref", {.batches = {}}),
                       "lmnet: register_benchmarks: no batches given", lmnet::error);
  CHECK_THROWS_WITH_AS(register_benchmarks<small_net>("ref", {.batches = {1, 0}}),
                       "lmnet: register_benchmarks: batches must be at least 1, got 0",
                       lmnet::error);
  CHECK_THROWS_WITH_AS(register_benchmarks<small_net>(""),
                       "lmnet: register_benchmarks: the name is empty", lmnet::error);
  // Nothing was registered: a case of the test's own is the only one to run.
  benchmark::RegisterBenchmark("sentinel", [](benchmark::State& state) {
    for (auto _ : state) benchmark::ClobberMemory();
  });
  CHECK(names_of(run_cases(".")) == "sentinel\n");
}

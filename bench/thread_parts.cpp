// SPDX-License-Identifier: Apache-2.0
// Where MobileNetV2 (224x224, batch 1) loses time on two threads:
// - side by side: one-thread inferences alone, then two of them at once, one per core (do the
//   cores slow each other down?);
// - per step of a two-thread inference: when each part ends after the step starts (means over
//   100 inferences), the mean gap between the two ends, and the share of rows the engine has
//   learned for the first part (row_balance).
//   lmnet_thread_parts   prints one line per round, then one per step
#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>
#include <vector>

namespace {

using namespace lmnet;
using clock_type = std::chrono::steady_clock;
inline constexpr auto mobilenet_v2 = models::mobilenet_v2();
using net_model = model<mobilenet_v2, backend::simd<>>;

double micros(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// Runs a thread pool's parallel_for and records, per call of an inference, when tasks 0 and 1
// ended.
struct part_timer {
  thread_pool& pool;
  int call = 0;
  std::vector<double> end0, end1, gap;

  int concurrency() const { return pool.concurrency(); }
  void parallel_for(int count, task_ref task) {
    clock_type::time_point ends[2];
    const auto start = clock_type::now();
    pool.parallel_for(count, [&](int i) {
      task(i);
      if (i < 2) ends[i] = clock_type::now();
    });
    if (static_cast<std::size_t>(call) >= end0.size()) {
      end0.push_back(0);
      end1.push_back(0);
      gap.push_back(0);
    }
    const auto k = static_cast<std::size_t>(call++);
    end0[k] += micros(start, ends[0]);
    end1[k] += micros(start, ends[1]);
    gap[k] += std::abs(micros(ends[0], ends[1]));
  }
};

double median_ms(net_model& m, const std::vector<float>& image, int runs) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = clock_type::now();
    (void)m.infer(image);
    t.push_back(micros(start, clock_type::now()) * 1e-3);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main() {
  const std::vector<float> image(net_model::input_shape.size(), 0.5f);
  net_model a(1), b(1);
  a.load(random_weights{1});
  b.load(random_weights{1});
  for (int round = 0; round < 3; ++round) {
    const double alone = median_ms(a, image, 20);
    double other = 0;
    std::thread second([&] { other = median_ms(b, image, 20); });
    const double first = median_ms(a, image, 20);
    second.join();
    std::printf("side_by_side one_thread_ms=%.2f two_at_once_ms=%.2f,%.2f\n", alone, first, other);
  }

  thread_pool pool(2);
  part_timer timer{pool, 0, {}, {}, {}};
  net_model two(1, timer);
  two.load(random_weights{1});
  constexpr int warm = 20, runs = 100;
  for (int i = 0; i < warm + runs; ++i) {
    if (i == warm) timer.end0.clear(), timer.end1.clear(), timer.gap.clear();
    timer.call = 0;
    (void)two.infer(image);
  }
  // Parallel calls follow the split steps in order.
  const auto& schedule = net_model::engine_type::schedule;
  int call = 0;
  for (int k = 0; k < schedule.step_count; ++k) {
    const simd::step& st = schedule.steps[static_cast<std::size_t>(k)];
    if (!st.parallel) continue;
    const auto c = static_cast<std::size_t>(call++);
    std::printf("step %2d part0_end_us=%.1f part1_end_us=%.1f mean_gap_us=%.1f part0_share=%.3f\n",
                k, timer.end0[c] / runs, timer.end1[c] / runs, timer.gap[c] / runs,
                two.backend_engine().row_shares().weight(k, 0));
  }
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// Peak resident memory of a process that builds MobileNetV2 (224x224) on the simd backend, loads
// its weights and runs inferences: what a user's process pays for the model.
//   peak_rss [threads]   prints "peak_rss_mb=<MiB> weights_mb=<MiB> arena_mb=<MiB>"
#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sys/resource.h>
#include <vector>

namespace {
inline constexpr auto mobilenet_v2 = lmnet::models::mobilenet_v2();
}

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  lmnet::thread_pool pool(threads);
  lmnet::model<mobilenet_v2, lmnet::backend::simd<>> m(1, pool);
  m.load(lmnet::random_weights{1});
  const std::vector<float> image(m.input_shape.size(), 0.5f);
  for (int i = 0; i < 10; ++i) (void)m.infer(image);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  using engine = decltype(m)::engine_type;
  std::printf("peak_rss_mb=%.1f weights_mb=%.1f arena_mb=%.1f\n",
              static_cast<double>(usage.ru_maxrss) / 1024.0,
              static_cast<double>(engine::schedule.weight_floats) * 4.0 / (1 << 20),
              static_cast<double>(engine::schedule.arena_floats) * 4.0 / (1 << 20));
  return 0;
}

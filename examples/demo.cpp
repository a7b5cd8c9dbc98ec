// SPDX-License-Identifier: Apache-2.0
// ./scripts/demo: L-Mobilenet beside MobileNetV2 (CIFAR-size inputs, 10 classes): parameters, MACs,
// activation arena, and the batch-1 latency of the reference backend.
#include <lmnet/lmnet.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

inline constexpr auto l_mobilenet = lmnet::models::l_mobilenet({.classes = 10, .channels = 3});
inline constexpr auto mobilenet_v2 =
    lmnet::models::mobilenet_v2({.classes = 10, .channels = 3, .resolution = 32, .cifar = true});

template <const auto& Net>
void report(const char* name) {
  constexpr auto& plan = lmnet::plan_of<Net>;
  lmnet::model<Net> m;
  m.load(lmnet::random_weights{1});
  const std::vector<float> image(m.input_shape.size(), 0.5f);
  std::vector<double> ms;
  for (int i = 0; i < 7; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    (void)m.infer(image);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("%-18s %2d weight layers %9zu params %11zu MACs %8zu arena bytes %8.2f ms\n", name,
              plan.weight_layers(), plan.params(), plan.macs(), plan.arena_bytes(),
              ms[ms.size() / 2]);
}

}  // namespace

int main() {
  std::printf("32x32x3 input, 10 classes, batch 1, reference backend (median of 7 runs)\n");
  report<l_mobilenet>("l_mobilenet");
  report<mobilenet_v2>("mobilenet_v2_cifar");
}

// SPDX-License-Identifier: Apache-2.0
// One binary that runs the network with AVX-512 kernels on machines that have them and with
// AVX2 kernels elsewhere: the instruction set is chosen once, at run time (docs/performance.md).
// Compiled for the baseline instruction set.
//
//   lmnet_example_runtime_dispatch            the best the machine offers
//   lmnet_example_runtime_dispatch avx2       AVX2 even where AVX-512 is available
#include "classifier.hpp"

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  const auto cpu = xsimd::available_architectures();  // what this machine supports
  const bool want_avx2 = argc > 1 && std::strcmp(argv[1], "avx2") == 0;
  std::unique_ptr<classifier> c;
  if (cpu.avx512bw && !want_avx2) {
    c = make_classifier_avx512();
  } else if (cpu.fma3_avx2) {
    c = make_classifier_avx2();
  } else {
    std::fprintf(stderr, "this machine has neither AVX-512 nor AVX2 with FMA\n");
    return 1;
  }
  std::vector<float> image(32 * 32);
  for (std::size_t i = 0; i < image.size(); ++i) image[i] = static_cast<float>(i % 7) / 7.0f;
  const auto logits = c->infer(image);
  std::printf("%s: class %ld\n", c->instruction_set(),
              std::max_element(logits.begin(), logits.end()) - logits.begin());
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// Shared by the GPU tests: a network on the CUDA backend against the same network on the reference
// backend, same weights, same images.
#pragma once

#include "test_utils.hpp"

#include <lmnet/backend/cuda.hpp>
#include <lmnet/lmnet.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

namespace lmnet::test {

struct gpu_comparison {
  double error = 1e30;      // largest difference over the reference's largest magnitude
  double magnitude = 0.0;   // mean |reference output|
  bool repeatable = false;  // a second run gave the same bits
};

/// Runs `batch` random images through both backends. The CUDA model first runs other images, so
/// an output it fails to write keeps a wrong value instead of passing by accident.
template <const auto& Net, compile_options Options = compile_options{}>
gpu_comparison compare_on_gpu(int batch, cuda_options options = {}, std::uint32_t seed = 5) {
  model<Net, backend::reference, Options> reference(batch);
  reference.load(random_weights{seed});
  model<Net, backend::cuda, Options> gpu(batch, options);
  gpu.load(random_weights{seed});
  const std::size_t floats = reference.input_shape.size() * static_cast<std::size_t>(batch);
  const auto decoy = random_vector(floats, seed + 100, -2.0f, 2.0f);
  const auto images = random_vector(floats, seed + 1, -1.0f, 1.0f);
  (void)gpu.infer(decoy, batch);
  const auto got = gpu.infer(images, batch);
  const std::vector<float> first(got.begin(), got.end());
  const auto again = gpu.infer(images, batch);
  const auto expected = reference.infer(images, batch);
  gpu_comparison c;
  c.error = max_relative_error(first, {expected.begin(), expected.end()});
  for (float v : expected) c.magnitude += std::abs(v);
  c.magnitude /= static_cast<double>(expected.size());
  c.repeatable = std::vector<float>(again.begin(), again.end()) == first;
  return c;
}

}  // namespace lmnet::test

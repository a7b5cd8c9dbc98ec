// SPDX-License-Identifier: Apache-2.0
// Shared by the host tests of the CUDA backend: a network run by the emulated CUDA schedule
// against the same network on the reference backend.
#pragma once

#include "host_engine.hpp"
#include "test_utils.hpp"

#include <lmnet/lmnet.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

namespace lmnet::test {

/// The emulated CUDA schedule against the reference backend on random weights and images: the
/// largest error relative to the reference's largest magnitude.
struct comparison {
  double error = 1e30;
  double magnitude = 0.0;  // mean |reference output|: the outputs carry signal
};

template <const auto& Net, compile_options Options = compile_options{}>
comparison compare_with_reference(int batch, cuda::device_limits limits = {},
                                  cuda::schedule_options options = {},
                                  block_order order = block_order::forward,
                                  std::uint32_t seed = 7) {
  model<Net, backend::reference, Options> reference(batch);
  reference.load(random_weights{seed});
  const auto images = random_vector(reference.input_shape.size() * static_cast<std::size_t>(batch),
                                    seed + 1, -1.0f, 1.0f);
  const auto expected = reference.infer(images, batch);
  host_cuda_engine<model<Net, backend::reference, Options>::plan> cuda(batch, limits, options);
  cuda.load(random_weights{seed});
  const std::vector<float> got = cuda.run(images, batch, order);
  comparison c;
  c.error = max_relative_error(got, {expected.begin(), expected.end()});
  for (float v : expected) c.magnitude += std::abs(v);
  c.magnitude /= static_cast<double>(expected.size());
  return c;
}

/// Small devices, to push the schedule to its other choices.
inline constexpr cuda::device_limits turing{40, 64 * 1024, 48 * 1024};  // sm_75, 64 KiB
inline constexpr cuda::device_limits hopper{132, 232448, 48 * 1024};    // H100 SXM
inline constexpr cuda::device_limits tiny{4, 24 * 1024, 24 * 1024};     // few SMs, little memory

}  // namespace lmnet::test

// SPDX-License-Identifier: Apache-2.0
// The same preset as 01_run_model.cpp on an NVIDIA GPU: only the backend tag changes. Then the
// device-memory API, for data that already lives on the GPU.
#include <lmnet/backend/cuda.hpp>
#include <lmnet/lmnet.hpp>

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <vector>

inline constexpr auto net = lmnet::models::l_mobilenet({.classes = 10, .channels = 1});

int main() try {
  constexpr int batch = 8;
  // Weights, arena for 8 images and staging buffers are allocated on the GPU here.
  lmnet::model<net, lmnet::backend::cuda> m(batch);
  m.load(lmnet::random_weights{42});  // packed and uploaded once
  std::printf("running on %s\n", m.backend_engine().device().name.c_str());

  std::vector<float> images(m.input_shape.size() * batch);
  for (std::size_t i = 0; i < images.size(); ++i) images[i] = static_cast<float>(i % 255) / 255.0f;

  // Host memory in and out: the first call at a batch size captures its CUDA graph.
  const auto all = m.infer(images, batch);
  for (int n = 0; n < batch; ++n) {
    const auto logits =
        all.subspan(static_cast<std::size_t>(n) * m.output_shape.size(), m.output_shape.size());
    std::printf("image %d: class %ld\n", n,
                std::max_element(logits.begin(), logits.end()) - logits.begin());
  }

  // Device memory in and out, on a stream of the caller's: write the images straight into the
  // engine's input buffer, run, read the logits where they are.
  auto& engine = m.backend_engine();
  using lmnet::cuda::check;
  cudaStream_t stream = nullptr;
  check(cudaStreamCreate(&stream), "cudaStreamCreate");
  check(cudaMemcpyAsync(engine.device_input(), images.data(), images.size() * sizeof(float),
                        cudaMemcpyHostToDevice, stream),
        "cudaMemcpyAsync");
  const lmnet::tensor_view<const float> logits =
      engine.run_device(engine.device_input(), batch, stream);
  std::vector<float> host(m.output_shape.size() * batch);
  check(cudaMemcpyAsync(host.data(), logits.data, host.size() * sizeof(float),
                        cudaMemcpyDeviceToHost, stream),
        "cudaMemcpyAsync");
  check(cudaStreamSynchronize(stream), "cudaStreamSynchronize");
  check(cudaStreamDestroy(stream), "cudaStreamDestroy");
  std::printf(
      "device path, image 0: class %ld\n",
      std::max_element(host.begin(), host.begin() + static_cast<long>(m.output_shape.size())) -
          host.begin());
  return 0;
} catch (const lmnet::error& e) {
  // No GPU (or no driver): say so; 77 tells ctest the example was skipped.
  const bool no_device = lmnet::cuda::device_count() == 0;
  std::printf("%s%s\n", no_device ? "SKIPPED: " : "", e.what());
  return no_device ? 77 : 1;
}

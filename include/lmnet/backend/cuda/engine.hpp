// SPDX-License-Identifier: Apache-2.0
// The CUDA engine: packed weights uploaded once, a preallocated activation arena, and one CUDA
// graph per batch size, so a batch-1 inference is a single graph launch.
#pragma once

#if !defined(__CUDACC__)
#error "<lmnet/backend/cuda/engine.hpp> is CUDA code: compile it with nvcc (a .cu file)"
#endif

#include <lmnet/backend/cuda/launch.hpp>
#include <lmnet/backend/cuda/packing.hpp>
#include <lmnet/backend/cuda/runtime.hpp>
#include <lmnet/backend/cuda/schedule.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/error.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <cuda_runtime.h>

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

namespace backend {

/// CUDA kernels (NHWC, fp32) on an NVIDIA GPU. `model<Net, backend::cuda>` takes a
/// `cuda_options` after its batch size.
struct cuda {};

}  // namespace backend

/// Settings of a CUDA model.
struct cuda_options {
  int device = 0;                 // CUDA device index
  cudaStream_t stream = nullptr;  // stream of `infer` (host memory in and out); null: the
                                  // engine's own. `run_device` takes its stream per call.
  bool graphs = true;             // replay each batch size's launches as one CUDA graph
  bool fuse_blocks = true;        // one kernel per bottleneck where it fits (fusion.hpp)
};

/// Runs a plan on the GPU. Memory (weights, arena for `max_batch` images, input and output
/// staging) is allocated by the constructor; the first run at a batch size also builds its launch
/// list and captures its graph. Not thread-safe: one engine serves one caller at a time.
template <const auto& Plan>
class engine<backend::cuda, Plan> {
  static constexpr auto layout = cuda::packed_layout_of(Plan);
  static constexpr std::size_t input_floats = Plan.input_shape().size();
  static constexpr std::size_t output_floats = Plan.output_shape().size();

 public:
  explicit engine(int max_batch, cuda_options options = {})
      : max_batch_(max_batch), options_(options), device_(cuda::query_device(options.device)) {
    if (max_batch < 1) throw error("max_batch must be >= 1, got " + std::to_string(max_batch));
    const cuda::device_guard guard(device_.index);
    const auto images = static_cast<std::size_t>(max_batch);
    weights_ = {layout.floats, "the packed weights"};
    arena_ = {Plan.arena_floats * images, "the activation arena"};
    input_ = {input_floats * images, "the input"};
    host_output_ = cuda::pinned_buffer<float>(output_floats * images);
    own_stream_ = std::make_unique<cuda::stream>();
    capture_stream_ = std::make_unique<cuda::stream>();
    batches_.resize(images + 1);
    // Size the scratch of split fused blocks for the common batch sizes now, not mid-run.
    for (const int batch : {1, max_batch}) state(batch);
  }

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Packs the canonical folded weights (io/bind.hpp) and uploads them.
  void load(std::span<const float> folded) {
    std::vector<float> packed(layout.floats, 0.0f);
    cuda::pack_weights(Plan, folded, packed);
    const cuda::device_guard guard(device_.index);
    cuda::check(cudaMemcpy(weights_.data(), packed.data(), packed.size() * sizeof(float),
                           cudaMemcpyHostToDevice),
                "cudaMemcpy(weights)");
    loaded_ = true;
  }

  /// Runs `batch` images from host memory; returns the outputs in host memory (valid until the
  /// next run). Waits for the GPU.
  tensor_view<const float> run(const float* input, int batch) {
    check_run(batch);
    const cuda::device_guard guard(device_.index);
    cudaStream_t s = options_.stream != nullptr ? options_.stream : own_stream_->get();
    cuda::check(cudaMemcpyAsync(input_.data(), input, bytes(input_floats, batch),
                                cudaMemcpyHostToDevice, s),
                "cudaMemcpyAsync(input)");
    enqueue(batch, s);
    cuda::check(cudaMemcpyAsync(host_output_.data(), output_view(batch).data,
                                bytes(output_floats, batch), cudaMemcpyDeviceToHost, s),
                "cudaMemcpyAsync(output)");
    cuda::check(cudaStreamSynchronize(s), "running the network (cudaStreamSynchronize)");
    const shape out = Plan.output_shape();
    return {host_output_.data(), batch, out.height, out.width, out.channels, out.channels};
  }

  /// Runs `batch` images already on the device, asynchronously on `stream`; returns the device
  /// view of the outputs (valid until the next run; read it after the stream). The images are
  /// copied into the engine's input buffer first unless they already are there (`device_input()`).
  tensor_view<const float> run_device(const float* input, int batch, cudaStream_t stream) {
    check_run(batch);
    const cuda::device_guard guard(device_.index);
    if (input != input_.data()) {
      cuda::check(cudaMemcpyAsync(input_.data(), input, bytes(input_floats, batch),
                                  cudaMemcpyDeviceToDevice, stream),
                  "cudaMemcpyAsync(input)");
    }
    enqueue(batch, stream);
    return output_view(batch);
  }

  /// The device buffer `run_device` reads: fill it directly to save a copy.
  float* device_input() { return input_.data(); }

  int max_batch() const { return max_batch_; }
  const cuda::device_info& device() const { return device_; }
  const cuda_options& options() const { return options_; }

  /// The launches a batch size runs (built on first use).
  const cuda::schedule& schedule_for(int batch) {
    check_batch(batch);
    const cuda::device_guard guard(device_.index);
    return state(batch).launches;
  }

 private:
  struct batch_state {
    bool built = false;
    cuda::schedule launches;
    cuda::graph_exec graph;
  };

  static std::size_t bytes(std::size_t floats, int batch) {
    return floats * static_cast<std::size_t>(batch) * sizeof(float);
  }

  void check_batch(int batch) const {
    if (batch < 1 || batch > max_batch_) {
      throw error("batch of " + std::to_string(batch) + " images, the engine was built for 1 to " +
                  std::to_string(max_batch_));
    }
  }
  void check_run(int batch) const {
    check_batch(batch);
    if (!loaded_) throw error("the CUDA model has no weights: call load() first");
  }

  tensor_view<float> output_view(int batch) const {
    return Plan.view(Plan.output_value, arena_.data(), input_.data(), batch);
  }

  cuda::schedule_memory memory() const {
    return {arena_.data(),   input_.data(),    weights_.data(), partial_.data(),
            partial_.size(), counters_.data(), counters_.size()};
  }

  // The launch list of a batch size, built on first use; grows the split scratch when it needs
  // more, which invalidates every list built before (they point at the old scratch).
  batch_state& state(int batch) {
    batch_state& b = batches_[static_cast<std::size_t>(batch)];
    if (b.built) return b;
    const cuda::schedule_options so{.fuse_blocks = options_.fuse_blocks};
    cuda::schedule s = cuda::build_schedule(Plan, batch, memory(), device_.limits, so);
    if (!s.fits(memory())) {
      grow_scratch(s.partial_floats, s.counter_count);
      s = cuda::build_schedule(Plan, batch, memory(), device_.limits, so);
    }
    cuda::prepare(s, device_.limits);
    b.launches = std::move(s);
    b.built = true;
    return b;
  }

  void grow_scratch(std::size_t partial, std::size_t counters) {
    cuda::check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");  // no graph may still use it
    for (batch_state& b : batches_) b = batch_state{};
    if (partial > partial_.size()) {
      partial_ = {};
      partial_ = {partial, "the partial sums of split fused blocks"};
    }
    if (counters > counters_.size()) {
      counters_ = {};
      counters_ = {counters, "the counters of split fused blocks"};
      cuda::check(cudaMemset(counters_.data(), 0, counters * sizeof(unsigned)),
                  "cudaMemset(counters)");
    }
  }

  void enqueue(int batch, cudaStream_t stream) {
    batch_state& b = state(batch);
    if (!options_.graphs) {
      cuda::enqueue(b.launches, stream);
      return;
    }
    if (!b.graph) b.graph = capture(b.launches);
    b.graph.launch(stream);
  }

  cuda::graph_exec capture(const cuda::schedule& s) {
    cudaStream_t cs = capture_stream_->get();
    cuda::check(cudaStreamBeginCapture(cs, cudaStreamCaptureModeThreadLocal),
                "cudaStreamBeginCapture");
    cudaGraph_t graph = nullptr;
    try {
      cuda::enqueue(s, cs);
    } catch (...) {
      (void)cudaStreamEndCapture(cs, &graph);
      if (graph != nullptr) (void)cudaGraphDestroy(graph);
      throw;
    }
    cuda::check(cudaStreamEndCapture(cs, &graph), "cudaStreamEndCapture");
    try {
      cuda::graph_exec exec(graph);
      (void)cudaGraphDestroy(graph);
      return exec;
    } catch (...) {
      (void)cudaGraphDestroy(graph);
      throw;
    }
  }

  int max_batch_;
  cuda_options options_;
  cuda::device_info device_;
  bool loaded_ = false;
  cuda::device_buffer<float> weights_, arena_, input_, partial_;
  cuda::device_buffer<unsigned> counters_;
  cuda::pinned_buffer<float> host_output_;
  std::unique_ptr<cuda::stream> own_stream_, capture_stream_;
  std::vector<batch_state> batches_;  // by batch size
};

}  // namespace lmnet

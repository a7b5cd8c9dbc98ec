// SPDX-License-Identifier: Apache-2.0
// Runs kernel bodies (kernels/body.hpp) on the GPU: the device context they are written against,
// one __global__ entry per body, and the launch of a whole schedule on a stream.
#pragma once

#if !defined(__CUDACC__)
#error "<lmnet/backend/cuda/launch.hpp> is CUDA code: compile it with nvcc (a .cu file)"
#endif

#include <lmnet/backend/cuda/runtime.hpp>
#include <lmnet/backend/cuda/schedule.hpp>

#include <cuda_runtime.h>

#include <variant>

namespace lmnet::cuda {

/// A thread block as kernel bodies see it on the GPU: every thread runs the body; a phase is the
/// calling thread's work followed by a barrier.
template <int Threads>
struct device_context {
  static constexpr int threads = Threads;

  /// Per-thread state lives in the thread's registers.
  template <class T>
  struct per_thread {
    T value;
    LMNET_DEVICE LMNET_FORCEINLINE T& operator()(int) { return value; }
  };

  float* shared_memory;

  LMNET_DEVICE LMNET_FORCEINLINE float* shared() const { return shared_memory; }
  LMNET_DEVICE LMNET_FORCEINLINE int block_x() const { return static_cast<int>(blockIdx.x); }
  LMNET_DEVICE LMNET_FORCEINLINE int block_y() const { return static_cast<int>(blockIdx.y); }
  LMNET_DEVICE LMNET_FORCEINLINE int block_z() const { return static_cast<int>(blockIdx.z); }

  template <class F>
  LMNET_DEVICE LMNET_FORCEINLINE void each(F&& f) {
    f(static_cast<int>(threadIdx.x));
  }
  template <class F>
  LMNET_DEVICE LMNET_FORCEINLINE void phase(F&& f) {
    f(static_cast<int>(threadIdx.x));
    __syncthreads();
  }
  LMNET_DEVICE LMNET_FORCEINLINE void fence() { __threadfence(); }
  LMNET_DEVICE LMNET_FORCEINLINE unsigned atomic_add(unsigned* p, unsigned v) {
    return atomicAdd(p, v);
  }
  LMNET_DEVICE LMNET_FORCEINLINE float load_coherent(const float* p) { return __ldcg(p); }
};

/// The kernel of body `Body`: one block runs `Body::run`. Parameters stay in the constant bank
/// (__grid_constant__), so indexing into them does not copy them to local memory.
template <class Body>
__global__ void __launch_bounds__(Body::threads)
    run_body(const __grid_constant__ typename Body::params params) {
  extern __shared__ float4 shared_memory[];
  device_context<Body::threads> ctx{reinterpret_cast<float*>(shared_memory)};
  Body::run(params, ctx);
}

/// Lets the kernel use all the shared memory the device offers a block when a launch needs more
/// than the default. The limit belongs to the kernel, not to the launch: setting it to the largest
/// any launch of the body could ask for keeps every graph captured before valid.
template <class Body>
void prepare(const launch<Body>& l, const device_limits& limits) {
  if (l.shape.shared_bytes > limits.default_shared_bytes) {
    check(cudaFuncSetAttribute(run_body<Body>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(limits.shared_bytes_per_block)),
          "cudaFuncSetAttribute(MaxDynamicSharedMemorySize)");
  }
}

template <class Body>
void enqueue(const launch<Body>& l, cudaStream_t stream) {
  const grid3 g = l.shape.grid;
  run_body<Body><<<dim3(g.x, g.y, g.z), static_cast<unsigned>(l.shape.threads),
                   l.shape.shared_bytes, stream>>>(l.params);
  check(cudaGetLastError(), "kernel launch");
}

inline void prepare(const schedule& s, const device_limits& limits) {
  for (const step& st : s.steps) std::visit([&](const auto& l) { prepare(l, limits); }, st);
}

inline void enqueue(const schedule& s, cudaStream_t stream) {
  for (const step& st : s.steps) std::visit([&](const auto& l) { enqueue(l, stream); }, st);
}

}  // namespace lmnet::cuda

// SPDX-License-Identifier: Apache-2.0
// The CUDA runtime as the backend uses it: every call checked, device memory and streams owned by
// objects, and a clear error when there is no device or not enough memory on it.
#pragma once

#if !defined(__CUDACC__)
#error "<lmnet/backend/cuda/runtime.hpp> is CUDA code: compile it with nvcc (a .cu file)"
#endif

#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/core/error.hpp>

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <utility>

namespace lmnet::cuda {

/// Throws an `lmnet::error` naming the call when `status` is not success.
inline void check(cudaError_t status, const char* call) {
  if (status == cudaSuccess) return;
  (void)cudaGetLastError();  // clear the error if it is not sticky
  throw error(std::string("CUDA call ") + call + " failed: " + cudaGetErrorName(status) + " (" +
              cudaGetErrorString(status) + ")");
}

/// What the backend knows of the device it runs on.
struct device_info {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  std::size_t memory = 0;    // bytes
  device_limits limits{};
};

/// The number of usable CUDA devices; 0 when there is no driver or no device.
inline int device_count() noexcept {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

/// Describes device `index`; throws when it does not exist.
inline device_info query_device(int index) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    throw error(std::string("no CUDA device is available: ") + cudaGetErrorString(status));
  }
  if (count == 0) throw error("no CUDA device is available: the driver reports none");
  if (index < 0 || index >= count) {
    throw error("CUDA device " + std::to_string(index) + " requested, but " +
                std::to_string(count) + " device(s) are present");
  }
  cudaDeviceProp prop{};
  check(cudaGetDeviceProperties(&prop, index), "cudaGetDeviceProperties");
  device_info info;
  info.index = index;
  info.name = prop.name;
  info.major = prop.major;
  info.minor = prop.minor;
  info.memory = prop.totalGlobalMem;
  info.limits.multiprocessors = prop.multiProcessorCount;
  info.limits.shared_bytes_per_block = prop.sharedMemPerBlockOptin;
  info.limits.default_shared_bytes = prop.sharedMemPerBlock;
  return info;
}

/// Makes `index` the current device for the lifetime of the guard.
class device_guard {
 public:
  explicit device_guard(int index) {
    check(cudaGetDevice(&previous_), "cudaGetDevice");
    if (previous_ != index) check(cudaSetDevice(index), "cudaSetDevice");
  }
  ~device_guard() { (void)cudaSetDevice(previous_); }
  device_guard(const device_guard&) = delete;
  device_guard& operator=(const device_guard&) = delete;

 private:
  int previous_ = 0;
};

/// `count` objects of T in device memory (uninitialised), freed on destruction.
template <class T>
class device_buffer {
 public:
  device_buffer() = default;
  /// `what` names the buffer in the error raised when the device lacks memory.
  device_buffer(std::size_t count, const char* what) : count_(count) {
    if (count == 0) return;
    const std::size_t bytes = count * sizeof(T);
    const cudaError_t status = cudaMalloc(reinterpret_cast<void**>(&data_), bytes);
    if (status == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();
      std::size_t free = 0, total = 0;
      (void)cudaMemGetInfo(&free, &total);
      int device = 0;
      (void)cudaGetDevice(&device);
      throw error("CUDA device " + std::to_string(device) + " lacks memory for " + what +
                  ": it needs " + mebibytes(bytes) + ", " + mebibytes(free) + " of " +
                  mebibytes(total) + " are free");
    }
    check(status, "cudaMalloc");
  }
  device_buffer(device_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  device_buffer& operator=(device_buffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    return *this;
  }
  ~device_buffer() {
    if (data_ != nullptr) (void)cudaFree(data_);
  }

  T* data() const { return data_; }
  std::size_t size() const { return count_; }

 private:
  static std::string mebibytes(std::size_t bytes) {
    return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB";
  }

  T* data_ = nullptr;
  std::size_t count_ = 0;
};

/// Page-locked host memory (fast, asynchronous copies), freed on destruction.
template <class T>
class pinned_buffer {
 public:
  pinned_buffer() = default;
  explicit pinned_buffer(std::size_t count) : count_(count) {
    if (count != 0) {
      check(cudaMallocHost(reinterpret_cast<void**>(&data_), count * sizeof(T)), "cudaMallocHost");
    }
  }
  pinned_buffer(pinned_buffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), count_(std::exchange(other.count_, 0)) {}
  pinned_buffer& operator=(pinned_buffer&& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(count_, other.count_);
    return *this;
  }
  ~pinned_buffer() {
    if (data_ != nullptr) (void)cudaFreeHost(data_);
  }

  T* data() const { return data_; }
  std::size_t size() const { return count_; }

 private:
  T* data_ = nullptr;
  std::size_t count_ = 0;
};

/// A non-blocking stream, destroyed with the object.
class stream {
 public:
  stream() {
    check(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  }
  ~stream() { (void)cudaStreamDestroy(stream_); }
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

/// An executable CUDA graph.
class graph_exec {
 public:
  graph_exec() = default;
  explicit graph_exec(cudaGraph_t graph) {
    check(cudaGraphInstantiate(&exec_, graph, 0), "cudaGraphInstantiate");
  }
  graph_exec(graph_exec&& other) noexcept : exec_(std::exchange(other.exec_, nullptr)) {}
  graph_exec& operator=(graph_exec&& other) noexcept {
    std::swap(exec_, other.exec_);
    return *this;
  }
  ~graph_exec() {
    if (exec_ != nullptr) (void)cudaGraphExecDestroy(exec_);
  }
  explicit operator bool() const { return exec_ != nullptr; }
  void launch(cudaStream_t s) const { check(cudaGraphLaunch(exec_, s), "cudaGraphLaunch"); }

 private:
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace lmnet::cuda

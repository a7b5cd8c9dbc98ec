// SPDX-License-Identifier: Apache-2.0
// Launch and tiling arithmetic of the CUDA backend, shared by its kernels, its scheduler and the
// host tests. Plain C++: nothing here needs the CUDA toolkit.
#pragma once

#include <lmnet/config.hpp>
#include <lmnet/core/shape.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <cstddef>
#include <cstdint>

namespace lmnet::cuda {

LMNET_HOST_DEVICE constexpr int ceil_div(int a, int b) {
  return (a + b - 1) / b;
}
LMNET_HOST_DEVICE constexpr int round_up(int a, int to) {
  return ceil_div(a, to) * to;
}
LMNET_HOST_DEVICE constexpr int min_of(int a, int b) {
  return a < b ? a : b;
}
LMNET_HOST_DEVICE constexpr int max_of(int a, int b) {
  return a > b ? a : b;
}

/// A grid of thread blocks (CUDA's gridDim).
struct grid3 {
  unsigned x = 1, y = 1, z = 1;
  constexpr std::size_t blocks() const { return std::size_t{x} * y * z; }
};

/// Everything a launch needs besides its parameters.
struct launch_shape {
  grid3 grid{};
  int threads = 0;
  std::size_t shared_bytes = 0;
};

/// A grid of `threads`-wide blocks with one thread per item (at least one block).
constexpr grid3 grid_for(long long items, int threads) {
  const long long blocks = (items + threads - 1) / threads;
  return {static_cast<unsigned>(blocks < 1 ? 1 : blocks), 1, 1};
}

/// What the kernels may assume of the device: the scheduler sizes tiles and splits from it.
struct device_limits {
  int multiprocessors = 132;                     // H100 SXM
  std::size_t shared_bytes_per_block = 232448;   // opt-in maximum (227 KiB on Hopper)
  std::size_t default_shared_bytes = 48 * 1024;  // without cudaFuncSetAttribute
};

/// Whether `p` may be read and written as 16-byte vectors.
inline bool aligned16(const void* p) {
  return reinterpret_cast<std::uintptr_t>(p) % 16 == 0;
}

/// Whether every pixel's channels of a view start on a 16-byte boundary and come in whole groups
/// of four: the condition of the kernels' float4 paths.
template <class T>
bool vectorizable(const tensor_view<T>& v) {
  return v.data == nullptr ||
         (aligned16(v.data) && v.channel_stride % 4 == 0 && v.channels % 4 == 0);
}

}  // namespace lmnet::cuda

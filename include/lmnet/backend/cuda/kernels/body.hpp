// SPDX-License-Identifier: Apache-2.0
// The contract between kernel bodies and the contexts that run them.
//
// A kernel body is a struct with
//   struct params;                          what one launch reads and writes (plain data)
//   static constexpr int threads;           threads per block
//   static launch_shape shape(const params&);   grid and shared memory of a launch (host)
//   template <class Ctx> static void run(const params&, Ctx&);   one block's work
//
// `run` is written once and runs in two places: on the GPU (launch.hpp, one CUDA thread block per
// call, every thread executing it) and on the host (the tests' emulator, one call per block that
// loops over the threads). To make both correct, a body is a sequence of phases:
//
//   ctx.phase([&](int t) { ... });   the work of thread t, then a barrier (__syncthreads)
//   ctx.each([&](int t) { ... });    the work of thread t, no barrier
//
// and the code between phases is uniform across the block (every thread computes the same values:
// loop bounds, tile origins). What a thread keeps from one phase to the next lives in
// `typename Ctx::template per_thread<T>` (registers on the GPU, one slot per thread on the host);
// what threads share lives in `ctx.shared()`, whose size `shape()` states. Other members:
//   ctx.block_x(), block_y(), block_z()     blockIdx
//   ctx.fence()                             __threadfence
//   ctx.atomic_add(unsigned*, unsigned)     atomicAdd, returns the old value
//   ctx.load_coherent(const float*)         a load that sees other blocks' fenced writes (L2)
//   Ctx::threads                            threads per block (the body's `threads`)
//
// Bodies that give each thread one item of a flat range (`grid_for`) loop with `for_each_item`
// and split NHWC items with `nhwc_item::of`.
#pragma once

#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/kernels/memory.hpp>

#include <type_traits>
#include <utility>

namespace lmnet::cuda {

/// Calls f(std::integral_constant<int, i>) for i = 0 .. N-1: a loop unrolled by construction, so
/// arrays indexed by i stay in registers however large the loop body is.
template <int N, class F>
LMNET_HOST_DEVICE LMNET_FORCEINLINE constexpr void unrolled(F&& f) {
  [&]<int... I>(std::integer_sequence<int, I...>) {
    (f(std::integral_constant<int, I>{}), ...);
  }
  (std::make_integer_sequence<int, N>{});
}

/// Calls f(item) for the item of each thread of the block: a launch of `grid_for(total, threads)`
/// gives block x items [x * threads, (x + 1) * threads), and threads past `total` have none.
template <class Ctx, class F>
LMNET_DEVICE LMNET_FORCEINLINE void for_each_item(Ctx& ctx, long long total, F&& f) {
  const long long first = static_cast<long long>(ctx.block_x()) * Ctx::threads;
  ctx.each([&](int t) {
    const long long item = first + t;
    if (item < total) f(item);
  });
}

/// An item of a range over (images, rows, columns, channels), channels fastest, as coordinates.
/// Kernels that take several columns or channels per item pass the number of column or channel
/// groups and scale `x` or `c` back.
struct nhwc_item {
  long long pixel;  // (image, row, column) as one index: item / channels
  int n, y, x, c;

  LMNET_HOST_DEVICE LMNET_FORCEINLINE static constexpr nhwc_item of(long long item, int height,
                                                                    int width, int channels) {
    const long long pixel = item / channels;  // (n, y, x)
    const long long row = pixel / width;      // (n, y)
    return {pixel, static_cast<int>(row / height), static_cast<int>(row % height),
            static_cast<int>(pixel % width), static_cast<int>(item % channels)};
  }
};

}  // namespace lmnet::cuda

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

}  // namespace lmnet::cuda

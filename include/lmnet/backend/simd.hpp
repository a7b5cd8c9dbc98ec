// SPDX-License-Identifier: Apache-2.0
// The simd backend: xsimd kernels for the instruction set the compile flags allow (AVX-512,
// AVX2+FMA, SSE, NEON), with packed weights, fused bottleneck blocks and an injectable executor.
//
//     lmnet::model<net, lmnet::backend::simd<>> m;                 // best ISA of the flags
//     lmnet::model<net, lmnet::backend::simd<xsimd::avx2>> m2;     // a chosen one
#pragma once

#include <lmnet/backend/simd/engine.hpp>
#include <lmnet/backend/simd/int8/engine.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/executor.hpp>
#include <lmnet/core/thread_pool.hpp>

#include <xsimd/xsimd.hpp>

namespace lmnet::backend {

/// xsimd kernels for `Arch` (an xsimd architecture such as xsimd::avx512bw,
/// xsimd::fma3<xsimd::avx2>, xsimd::sse4_2, xsimd::neon64); by default the best one the compile
/// flags allow. `simd<Arch, simd_options{.fuse_blocks = false}>` runs bottlenecks layer by layer.
template <class Arch = xsimd::default_arch, simd_options Options>
struct simd {
  using arch = Arch;
  static constexpr simd_options options = Options;
};

}  // namespace lmnet::backend

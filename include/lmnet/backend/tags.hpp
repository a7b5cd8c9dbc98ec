// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace lmnet::backend {

/// Plain scalar kernels: the oracle every other backend is tested against.
struct reference {};

/// Options of the simd backend.
struct simd_options {
  /// Bottleneck blocks run fused, tile by tile; off, layer by layer (to see what fusion gains).
  bool fuse_blocks = true;
};

/// xsimd kernels for the instruction set `Arch`; defined, with `Arch` defaulting to the best one
/// the compile flags allow, in <lmnet/backend/simd.hpp>. Kernels are keyed on simd<Arch>
/// whatever the options.
template <class Arch, simd_options Options = simd_options{}>
struct simd;

/// CUDA kernels; defined in <lmnet/backend/cuda.hpp>, which only nvcc compiles.
struct cuda;

/// The int8 kernels of `Base` (`reference` or `simd<Arch>`): uint8 activations and int8 weights
/// per output channel (docs/quantization.md).
template <class Base>
struct int8 {
  using base = Base;
};

}  // namespace lmnet::backend

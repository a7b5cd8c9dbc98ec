// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace lmnet::backend {

/// Plain scalar kernels: the oracle every other backend is tested against.
struct reference {};

/// xsimd kernels for the instruction set `Arch`; defined, with `Arch` defaulting to the best one
/// the compile flags allow, in <lmnet/backend/simd.hpp>.
template <class Arch>
struct simd;

/// CUDA kernels; defined in <lmnet/backend/cuda.hpp>, which only nvcc compiles.
struct cuda;

}  // namespace lmnet::backend

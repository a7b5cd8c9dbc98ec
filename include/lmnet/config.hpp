// SPDX-License-Identifier: Apache-2.0
// The only header that defines macros: version, host/device markers, inlining hints.
#pragma once

#define LMNET_VERSION_MAJOR 0
#define LMNET_VERSION_MINOR 1
#define LMNET_VERSION_PATCH 0

// Shape and index math is shared by every backend, so it is callable from CUDA device code when
// compiled by nvcc and is plain C++ otherwise.
#if defined(__CUDACC__) || defined(__CUDA__)
#define LMNET_HOST_DEVICE __host__ __device__
#define LMNET_DEVICE __device__
#define LMNET_FORCEINLINE __forceinline__
#else
#define LMNET_HOST_DEVICE
#define LMNET_DEVICE
#if defined(__GNUC__) || defined(__clang__)
#define LMNET_FORCEINLINE inline __attribute__((always_inline))
#else
#define LMNET_FORCEINLINE inline
#endif
#endif

#if defined(__GNUC__) || defined(__clang__)
#define LMNET_RESTRICT __restrict__
#else
#define LMNET_RESTRICT
#endif

// Inlines every call inside a kernel, lambdas included, so register tiles stay in registers.
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__CUDACC__)
#define LMNET_FLATTEN __attribute__((flatten))
#else
#define LMNET_FLATTEN
#endif

// SPDX-License-Identifier: Apache-2.0
// Loads and stores of the kernel bodies. On the device they are the read-only cached and 16-byte
// vector instructions; compiled for the host (the emulator of the tests) they are plain accesses
// that also check the alignment a vector instruction would need.
#pragma once

#include <lmnet/config.hpp>
#include <lmnet/core/activation.hpp>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <type_traits>

namespace lmnet::cuda {

/// Four floats, 16-byte aligned: one vector load or store.
struct alignas(16) vec4 {
  float x = 0, y = 0, z = 0, w = 0;

  LMNET_HOST_DEVICE constexpr float operator[](int i) const {
    return i == 0 ? x : i == 1 ? y : i == 2 ? z : w;
  }
};

LMNET_HOST_DEVICE constexpr vec4 splat(float v) {
  return {v, v, v, v};
}
LMNET_HOST_DEVICE constexpr vec4 fma4(float a, vec4 b, vec4 c) {
  return {a * b.x + c.x, a * b.y + c.y, a * b.z + c.z, a * b.w + c.w};
}
LMNET_HOST_DEVICE constexpr vec4 fma4(vec4 a, vec4 b, vec4 c) {
  return {a.x * b.x + c.x, a.y * b.y + c.y, a.z * b.z + c.z, a.w * b.w + c.w};
}
LMNET_HOST_DEVICE constexpr vec4 operator+(vec4 a, vec4 b) {
  return {a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w};
}
LMNET_HOST_DEVICE constexpr float madd(float a, float b, float c) {
  return a * b + c;
}
LMNET_HOST_DEVICE constexpr vec4 madd(vec4 a, vec4 b, vec4 c) {
  return fma4(a, b, c);
}
LMNET_HOST_DEVICE constexpr vec4 madd(float a, vec4 b, vec4 c) {
  return fma4(a, b, c);
}
LMNET_HOST_DEVICE constexpr float apply(float v, activation act) {
  return activate(v, act);
}
LMNET_HOST_DEVICE constexpr vec4 apply(vec4 v, activation act) {
  return {activate(v.x, act), activate(v.y, act), activate(v.z, act), activate(v.w, act)};
}

/// e^x, accurate to a few ulp on both sides (no fast-math intrinsics).
LMNET_DEVICE inline float exponential(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  return std::exp(x);
#endif
}

namespace detail {

#if !defined(__CUDA_ARCH__)
inline void check_vector_alignment(const void* p) {
  if (reinterpret_cast<std::uintptr_t>(p) % 16 != 0) {
    throw std::logic_error("lmnet: a float4 access is not 16-byte aligned");
  }
}
#endif

}  // namespace detail

/// A read-only global load (the non-coherent texture path on the device).
LMNET_DEVICE inline float load(const float* p) {
#if defined(__CUDA_ARCH__)
  return __ldg(p);
#else
  return *p;
#endif
}

/// A read-only 16-byte global load; `p` must be 16-byte aligned.
LMNET_DEVICE inline vec4 load4(const float* p) {
#if defined(__CUDA_ARCH__)
  const float4 v = __ldg(reinterpret_cast<const float4*>(p));
  return {v.x, v.y, v.z, v.w};
#else
  detail::check_vector_alignment(p);
  return {p[0], p[1], p[2], p[3]};
#endif
}

/// A 16-byte load from shared memory (or any memory the current kernel writes).
LMNET_DEVICE inline vec4 load4_shared(const float* p) {
#if defined(__CUDA_ARCH__)
  const float4 v = *reinterpret_cast<const float4*>(p);
  return {v.x, v.y, v.z, v.w};
#else
  detail::check_vector_alignment(p);
  return {p[0], p[1], p[2], p[3]};
#endif
}

/// One float, or four as a vector: the element type of kernels that have both paths.
template <bool Vector>
using lane_t = std::conditional_t<Vector, vec4, float>;

/// A read-only load of one lane type.
template <bool Vector>
LMNET_DEVICE inline lane_t<Vector> load_lanes(const float* p) {
  if constexpr (Vector) {
    return load4(p);
  } else {
    return load(p);
  }
}

/// A 16-byte store; `p` must be 16-byte aligned.
LMNET_DEVICE inline void store4(float* p, vec4 v) {
#if defined(__CUDA_ARCH__)
  *reinterpret_cast<float4*>(p) = make_float4(v.x, v.y, v.z, v.w);
#else
  detail::check_vector_alignment(p);
  p[0] = v.x, p[1] = v.y, p[2] = v.z, p[3] = v.w;
#endif
}

template <bool Vector>
LMNET_DEVICE inline void store_lanes(float* p, lane_t<Vector> v) {
  if constexpr (Vector) {
    store4(p, v);
  } else {
    *p = v;
  }
}

}  // namespace lmnet::cuda

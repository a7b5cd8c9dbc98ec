// SPDX-License-Identifier: Apache-2.0
// Depthwise convolution, one output row at a time, vectorised across channels (NHWC). The caller
// passes the input rows the kernel window covers, a null row standing for zero padding, and the
// left and right padding is handled by narrowing the taps at the border pixels: no padded copy.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/config.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>

namespace lmnet::simd {

/// Depthwise kernels of up to this many rows run on this backend.
inline constexpr int max_depthwise_kernel = 64;

/// One output row. rows[ky] points at pixel 0 (first channel) of the input row under tap row ky,
/// or is null where that row is padding.
struct depthwise_args {
  const float* const* rows = nullptr;
  std::ptrdiff_t in_stride = 0;  // floats from one input pixel to the next
  int in_width = 0;
  float* out = nullptr;
  std::ptrdiff_t out_stride = 0;
  int out_width = 0;
  int channels = 0;
  const float* packed = nullptr;  // at the first channel's weights
  int weight_pitch = 0;           // floats from one tap's weights to the next (0: channels, padded)
  int kernel = 3;
  int stride = 1;
  int padding = 1;
  const float* residual = nullptr;
  std::ptrdiff_t residual_stride = 0;
  activation act = activation::none;
};

namespace detail {

template <class Arch, bool Tail>
struct lanes {
  using V = vector<Arch>;
  using B = typename V::batch;
  int count;
  LMNET_FORCEINLINE B load(const float* p) const {
    if constexpr (Tail) return V::load_first(p, count);
    return V::load(p);
  }
  LMNET_FORCEINLINE void store(float* p, B v) const {
    if constexpr (Tail) {
      V::store_first(p, v, count);
    } else {
      V::store(p, v);
    }
  }
};

template <class Arch>
LMNET_FORCEINLINE int weight_pitch(const depthwise_args& d) {
  constexpr int W = vector<Arch>::width;
  return d.weight_pitch > 0 ? d.weight_pitch : (d.channels + W - 1) / W * W;
}

// Output pixel x with the taps clipped to the input: the border pixels and every pixel of the
// kernels without a specialisation.
template <class Arch, bool Tail>
LMNET_FORCEINLINE typename vector<Arch>::batch depthwise_pixel(const depthwise_args& d, int c,
                                                               int x, const float* w, int padded,
                                                               lanes<Arch, Tail> io) {
  using V = vector<Arch>;
  typename V::batch acc = V::load_aligned(w + d.kernel * d.kernel * padded + c);
  const int x0 = x * d.stride - d.padding;
  const int kx0 = std::max(0, -x0), kx1 = std::min(d.kernel, d.in_width - x0);
  for (int ky = 0; ky < d.kernel; ++ky) {
    const float* row = d.rows[ky];
    if (row == nullptr) continue;
    for (int kx = kx0; kx < kx1; ++kx) {
      acc = V::fma(io.load(row + (x0 + kx) * d.in_stride + c),
                   V::load_aligned(w + (ky * d.kernel + kx) * padded + c), acc);
    }
  }
  return acc;
}

template <class Arch, bool Tail>
LMNET_FORCEINLINE void depthwise_finish(const depthwise_args& d, int c, int x,
                                        typename vector<Arch>::batch acc, lanes<Arch, Tail> io) {
  using V = vector<Arch>;
  if (d.residual != nullptr) acc += io.load(d.residual + x * d.residual_stride + c);
  io.store(d.out + x * d.out_stride + c, V::activate(acc, d.act));
}

// Any kernel size and stride: every pixel through the clipped path.
template <class Arch, bool Tail>
void depthwise_generic(const depthwise_args& d, int c, lanes<Arch, Tail> io) {
  const int padded = weight_pitch<Arch>(d);
  for (int x = 0; x < d.out_width; ++x) {
    depthwise_finish<Arch>(d, c, x, depthwise_pixel<Arch>(d, c, x, d.packed, padded, io), io);
  }
}

// N interior output pixels from x on, whose windows lie inside the row: each input register is
// loaded once and used by every output pixel whose window covers it.
template <class Arch, int K, int S, int N, bool Tail>
LMNET_FORCEINLINE void depthwise_interior(const depthwise_args& d, int c, int x,
                                          const typename vector<Arch>::batch* w,
                                          typename vector<Arch>::batch bias, lanes<Arch, Tail> io) {
  using V = vector<Arch>;
  using B = typename V::batch;
  B acc[N];
#pragma GCC unroll 16
  for (int j = 0; j < N; ++j) acc[j] = bias;
  const std::ptrdiff_t x0 = x * S - d.padding;
#pragma GCC unroll 8
  for (int ky = 0; ky < K; ++ky) {
    const float* row = d.rows[ky];
    if (row == nullptr) continue;
    row += x0 * d.in_stride + c;
#pragma GCC unroll 64
    for (int i = 0; i < (N - 1) * S + K; ++i) {
      const B in = io.load(row + i * d.in_stride);
#pragma GCC unroll 16
      for (int j = 0; j < N; ++j) {
        const int kx = i - j * S;
        if (kx >= 0 && kx < K) acc[j] = V::fma(in, w[ky * K + kx], acc[j]);
      }
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < N; ++j) depthwise_finish<Arch>(d, c, x + j, acc[j], io);
}

// A border output pixel: the taps that fall outside the row are skipped.
template <class Arch, int K, int S, bool Tail>
LMNET_FORCEINLINE void depthwise_border(const depthwise_args& d, int c, int x,
                                        const typename vector<Arch>::batch* w,
                                        typename vector<Arch>::batch bias, lanes<Arch, Tail> io) {
  using V = vector<Arch>;
  typename V::batch acc = bias;
  const int x0 = x * S - d.padding;
  const int kx0 = std::max(0, -x0), kx1 = std::min(K, d.in_width - x0);
#pragma GCC unroll 8
  for (int ky = 0; ky < K; ++ky) {
    const float* row = d.rows[ky];
    if (row == nullptr) continue;
    for (int kx = kx0; kx < kx1; ++kx) {
      acc = V::fma(io.load(row + (x0 + kx) * d.in_stride + c), w[ky * K + kx], acc);
    }
  }
  depthwise_finish<Arch>(d, c, x, acc, io);
}

// K x K at stride S: the K*K weight registers stay loaded across the row; interior pixels go
// Block at a time, then in smaller blocks, the few border pixels one by one.
template <class Arch, int K, int S, int Block, bool Tail>
LMNET_FLATTEN void depthwise_fixed(const depthwise_args& d, int c, lanes<Arch, Tail> io) {
  using V = vector<Arch>;
  using B = typename V::batch;
  const int padded = weight_pitch<Arch>(d);
  B w[K * K];
#pragma GCC unroll 32
  for (int t = 0; t < K * K; ++t) w[t] = V::load_aligned(d.packed + t * padded + c);
  const B bias = V::load_aligned(d.packed + K * K * padded + c);
  // Interior pixels: the whole window inside the row.
  const int first = std::min(d.out_width, (d.padding + S - 1) / S);
  const int last_start = d.in_width - K + d.padding;  // x * S <= last_start
  const int end = std::max(first, std::min(d.out_width, last_start < 0 ? 0 : last_start / S + 1));
  for (int x = 0; x < first; ++x) depthwise_border<Arch, K, S>(d, c, x, w, bias, io);
  int x = first;
  for (; x + Block <= end; x += Block) depthwise_interior<Arch, K, S, Block>(d, c, x, w, bias, io);
  if constexpr (Block > 4) {
    if (x + 4 <= end) {
      depthwise_interior<Arch, K, S, 4>(d, c, x, w, bias, io);
      x += 4;
    }
  }
  if constexpr (Block > 2) {
    if (x + 2 <= end) {
      depthwise_interior<Arch, K, S, 2>(d, c, x, w, bias, io);
      x += 2;
    }
  }
  if (x < end) {
    depthwise_interior<Arch, K, S, 1>(d, c, x, w, bias, io);
    ++x;
  }
  for (; x < d.out_width; ++x) depthwise_border<Arch, K, S>(d, c, x, w, bias, io);
}

template <class Arch, bool Tail>
void depthwise_channels(const depthwise_args& d, int c, lanes<Arch, Tail> io) {
  constexpr int block = vector<Arch>::registers >= 32 ? 8 : 4;
  if (d.kernel == 3 && d.stride == 1) return depthwise_fixed<Arch, 3, 1, block>(d, c, io);
  if (d.kernel == 3 && d.stride == 2) return depthwise_fixed<Arch, 3, 2, block>(d, c, io);
  if (d.kernel == 5 && d.stride == 1) return depthwise_fixed<Arch, 5, 1, block / 2>(d, c, io);
  if (d.kernel == 5 && d.stride == 2) return depthwise_fixed<Arch, 5, 2, block / 2>(d, c, io);
  depthwise_generic<Arch>(d, c, io);
}

}  // namespace detail

/// Computes one output row, every channel.
template <class Arch>
void depthwise_row(const depthwise_args& d) {
  constexpr int W = vector<Arch>::width;
  int c = 0;
  for (; c + W <= d.channels; c += W) {
    detail::depthwise_channels<Arch>(d, c, detail::lanes<Arch, false>{W});
  }
  if (c < d.channels) {
    detail::depthwise_channels<Arch>(d, c, detail::lanes<Arch, true>{d.channels - c});
  }
}

/// A depthwise layer over output rows [q0, q1) of the batch (row q: image q / height, row
/// q % height).
template <class Arch>
void depthwise(const layer_spec& s, tensor_view<const float> in, tensor_view<float> out,
               tensor_view<const float> residual, const float* packed, int q0, int q1) {
  for (int q = q0; q < q1; ++q) {
    const int n = q / out.height, y = q % out.height;
    std::array<const float*, max_depthwise_kernel> rows{};
    for (int ky = 0; ky < s.kernel.height; ++ky) {
      const int iy = y * s.stride.height - s.padding.height + ky;
      if (iy >= 0 && iy < in.height) rows[static_cast<std::size_t>(ky)] = &in(n, iy, 0, 0);
    }
    depthwise_args a;
    a.rows = rows.data();
    a.in_stride = in.channel_stride;
    a.in_width = in.width;
    a.out = &out(n, y, 0, 0);
    a.out_stride = out.channel_stride;
    a.out_width = out.width;
    a.channels = out.channels;
    a.packed = packed;
    a.kernel = s.kernel.height;
    a.stride = s.stride.height;
    a.padding = s.padding.height;
    if (residual.data != nullptr) {
      a.residual = &residual(n, y, 0, 0);
      a.residual_stride = residual.channel_stride;
    }
    a.act = s.act;
    depthwise_row<Arch>(a);
  }
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::depthwise_conv2d> {
  static void run(const simd::kernel_args& a) {
    simd::depthwise<Arch>(a.n.spec, a.inputs[0], a.output, a.residual, a.packed, a.first, a.last);
  }
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
// An int8 depthwise convolution, one output row at a time, vectorised across channels (16 int32
// lanes). Windows inside the image sum the raw uint8 inputs against a bias with the zero point's
// share folded in; windows that leave it sum (x - zero) over the taps inside. Both are the same
// integers, so every path equals the reference.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/config.hpp>
#include <lmnet/quantization/params.hpp>

#if defined(__AVX512BW__)
#include <lmnet/backend/simd/int8/gemm_tile_avx512.hpp>
#endif

#include <xsimd/xsimd.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace lmnet::simd {

/// Depthwise kernels of up to this many rows run in int8.
inline constexpr int int8_max_depthwise_kernel = 16;

/// One output row: rows[ky] is the input row under tap row ky (pixel 0, first channel), or null
/// where it is padding.
struct int8_depthwise_row_args {
  const std::uint8_t* const* rows = nullptr;
  std::ptrdiff_t in_stride = 0;
  int in_width = 0;
  std::uint8_t* out = nullptr;
  std::ptrdiff_t out_stride = 0;
  int out_width = 0;
  int channels = 0;
  int channel_step = 1;
  const std::uint8_t* residual = nullptr;
  std::ptrdiff_t residual_stride = 0;
  const std::byte* packed = nullptr;
  int8_depthwise_layout layout{};
  int kernel = 3;
  int stride = 1;
  int padding = 1;
  const quantized_node* q = nullptr;
};

namespace detail {

// Output pixel x, channel j, in plain C++: the sum of (x - zero) * w over the taps inside.
inline std::uint8_t int8_depthwise_value(const int8_depthwise_row_args& d, int x, int j) {
  const int8_depthwise_layout& l = d.layout;
  // Each weight in the low half of its 32-bit lane (int8_depthwise_layout).
  const auto* w = reinterpret_cast<const std::int16_t*>(d.packed);
  std::int32_t sum = reinterpret_cast<const std::int32_t*>(d.packed + l.bias_offset())[j];
  const int zero = d.q->input.zero_point;
  for (int ky = 0; ky < d.kernel; ++ky) {
    if (d.rows[ky] == nullptr) continue;
    for (int kx = 0; kx < d.kernel; ++kx) {
      const int ix = x * d.stride - d.padding + kx;
      if (ix < 0 || ix >= d.in_width) continue;
      sum += (d.rows[ky][ix * d.in_stride + j] - zero) *
             w[2 * ((ky * d.kernel + kx) * l.padded() + j)];
    }
  }
  const float m = reinterpret_cast<const float*>(d.packed + l.multiplier_offset())[j];
  return d.residual == nullptr
             ? requantize(sum, m, d.q->output.zero_point, d.q->clamp)
             : requantize(sum, m, d.residual[x * d.residual_stride + j] - d.q->second.zero_point,
                          d.q->second_multiplier, d.q->output.zero_point, d.q->clamp);
}

inline void int8_depthwise_row_portable(const int8_depthwise_row_args& d) {
  for (int x = 0; x < d.out_width; ++x)
    for (int j = 0; j < d.channels; ++j)
      d.out[x * d.out_stride + j * d.channel_step] = int8_depthwise_value(d, x, j);
}

#if defined(__AVX512BW__)
// A 16-bit multiply-add of a 32-bit input lane and a weight whose high half is zero is their
// product (int8_depthwise_layout).
LMNET_FORCEINLINE __m512i multiply_add(__m512i acc, __m512i x, __m512i w) {
#if defined(__AVX512VNNI__)
  return _mm512_dpwssd_epi32(acc, x, w);
#else
  return _mm512_add_epi32(acc, _mm512_madd_epi16(x, w));
#endif
}

// 16 uint8 inputs widened to int32 lanes; with `Tail`, only the lanes of `mask` are read.
template <bool Tail>
LMNET_FORCEINLINE __m512i load_lanes(const std::uint8_t* p, __mmask16 mask) {
  if constexpr (Tail) return load_widened(p, mask);
  return _mm512_maskz_cvtepu8_epi32(0xFFFF, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The sums of channels [c, c + 16) of output pixel x, requantized and stored.
LMNET_FORCEINLINE void int8_depthwise_store(const int8_depthwise_row_args& d,
                                            const requantize16& requantize, int c, int x,
                                            __m512i sum, __m512 m, __mmask16 mask) {
  const __m512i q =
      d.residual == nullptr
          ? requantize(sum, m)
          : requantize(sum, m, load_widened(d.residual + x * d.residual_stride + c, mask));
  std::uint8_t* out = d.out + x * d.out_stride + c * d.channel_step;
  if (d.channel_step == 1) return store16(out, q, mask);
  alignas(64) std::int32_t lane[16];
  _mm512_store_si512(lane, q);
  for (int j = 0; j < 16 && (mask >> j & 1u) != 0; ++j) {
    out[j * d.channel_step] = static_cast<std::uint8_t>(lane[j]);
  }
}

// A border pixel: (x - zero) * w over the taps inside the image.
template <int K, int S, bool Tail>
LMNET_FORCEINLINE void int8_depthwise_border(const int8_depthwise_row_args& d,
                                             const requantize16& requantize, int c, int x,
                                             const __m512i* w, __m512i bias, __m512 m,
                                             __mmask16 mask) {
  const __m512i zero = _mm512_set1_epi32(d.q->input.zero_point);
  __m512i acc = bias;
  const int x0 = x * S - d.padding;
  const int kx0 = std::max(0, -x0), kx1 = std::min(K, d.in_width - x0);
  for (int ky = 0; ky < K; ++ky) {
    if (d.rows[ky] == nullptr) continue;
    for (int kx = kx0; kx < kx1; ++kx) {
      const __m512i v =
          _mm512_sub_epi32(load_lanes<Tail>(d.rows[ky] + (x0 + kx) * d.in_stride + c, mask), zero);
      acc = _mm512_add_epi32(acc, _mm512_madd_epi16(v, w[ky * K + kx]));
    }
  }
  int8_depthwise_store(d, requantize, c, x, acc, m, mask);
}

// N interior pixels from x on (every row present, the windows inside the row): raw inputs
// against the folded bias, each input loaded once for every output that reads it.
template <int K, int S, int N, bool Tail>
LMNET_FORCEINLINE void int8_depthwise_interior(const int8_depthwise_row_args& d,
                                               const requantize16& requantize, int c, int x,
                                               const __m512i* w, __m512i folded, __m512 m,
                                               __mmask16 mask) {
  __m512i acc[N];
  for (int j = 0; j < N; ++j) acc[j] = folded;
  const std::ptrdiff_t x0 = x * S - d.padding;
  for (int ky = 0; ky < K; ++ky) {
    const std::uint8_t* row = d.rows[ky] + x0 * d.in_stride + c;
#pragma GCC unroll 32
    for (int i = 0; i < (N - 1) * S + K; ++i) {
      const __m512i v = load_lanes<Tail>(row + i * d.in_stride, mask);
#pragma GCC unroll 16
      for (int j = 0; j < N; ++j) {
        const int kx = i - j * S;
        if (kx >= 0 && kx < K) acc[j] = multiply_add(acc[j], v, w[ky * K + kx]);
      }
    }
  }
  for (int j = 0; j < N; ++j) int8_depthwise_store(d, requantize, c, x + j, acc[j], m, mask);
}

// K x K at stride S, channels [c, c + 16): the taps' weights stay in registers across the row.
template <int K, int S, int Block, bool Tail>
LMNET_FLATTEN void int8_depthwise_fixed(const int8_depthwise_row_args& d, int c, __mmask16 mask) {
  const int8_depthwise_layout& l = d.layout;
  __m512i w[K * K];
  for (int t = 0; t < K * K; ++t) {
    w[t] = _mm512_loadu_si512(d.packed + static_cast<std::size_t>(t) * l.row_bytes() + c * 4);
  }
  const __m512i bias = _mm512_loadu_si512(d.packed + l.bias_offset() + c * 4);
  const __m512i folded = _mm512_loadu_si512(d.packed + l.folded_bias_offset() + c * 4);
  const __m512 m = _mm512_loadu_ps(d.packed + l.multiplier_offset() + c * 4);
  const requantize16 requantize(d.q->output.zero_point, d.q->clamp, d.q->second.zero_point,
                                d.q->second_multiplier);
  bool all_rows = true;
  for (int ky = 0; ky < K; ++ky) all_rows = all_rows && d.rows[ky] != nullptr;
  const int first = std::min(d.out_width, (d.padding + S - 1) / S);
  const int last_start = d.in_width - K + d.padding;
  const int end =
      all_rows ? std::max(first, std::min(d.out_width, last_start < 0 ? 0 : last_start / S + 1))
               : first;
  for (int x = 0; x < first; ++x)
    int8_depthwise_border<K, S, Tail>(d, requantize, c, x, w, bias, m, mask);
  int x = first;
  for (; x + Block <= end; x += Block) {
    int8_depthwise_interior<K, S, Block, Tail>(d, requantize, c, x, w, folded, m, mask);
  }
  for (; x < end; ++x)
    int8_depthwise_interior<K, S, 1, Tail>(d, requantize, c, x, w, folded, m, mask);
  for (; x < d.out_width; ++x)
    int8_depthwise_border<K, S, Tail>(d, requantize, c, x, w, bias, m, mask);
}

inline void int8_depthwise_row_avx512(const int8_depthwise_row_args& d) {
  for (int c = 0; c < d.channels; c += 16) {
    const int lanes = std::min(16, d.channels - c);
    const auto mask = static_cast<__mmask16>((1u << lanes) - 1u);
    // Whole registers of channels read without masks.
    auto fixed = [&]<int K, int S, int Block>() {
      if (lanes == 16) {
        int8_depthwise_fixed<K, S, Block, false>(d, c, mask);
      } else {
        int8_depthwise_fixed<K, S, Block, true>(d, c, mask);
      }
    };
    if (d.kernel == 3 && d.stride == 1) {
      fixed.template operator()<3, 1, 4>();
    } else if (d.kernel == 3 && d.stride == 2) {
      fixed.template operator()<3, 2, 4>();
    } else if (d.kernel == 5 && d.stride == 1) {
      fixed.template operator()<5, 1, 2>();
    } else if (d.kernel == 5 && d.stride == 2) {
      fixed.template operator()<5, 2, 2>();
    } else {
      for (int x = 0; x < d.out_width; ++x) {
        for (int j = c; j < c + lanes; ++j) {
          d.out[x * d.out_stride + j * d.channel_step] = int8_depthwise_value(d, x, j);
        }
      }
    }
  }
}
#endif

}  // namespace detail

/// One output row of every channel.
template <class Arch>
void int8_depthwise_row(const int8_depthwise_row_args& d) {
#if defined(__AVX512BW__)
  if constexpr (std::is_base_of_v<xsimd::avx512f, Arch>)
    return detail::int8_depthwise_row_avx512(d);
#endif
  detail::int8_depthwise_row_portable(d);
}

/// Output rows [q0, q1) of the batch.
template <class Arch>
void int8_depthwise(const int8_kernel_args& k, int q0, int q1) {
  const layer_spec& s = k.n.spec;
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  for_each_row(k.output.height, q0, q1, [&](int n, int y) {
    std::array<const std::uint8_t*, int8_max_depthwise_kernel> rows{};
    for (int ky = 0; ky < s.kernel.height; ++ky) {
      const int iy = y * s.stride.height - s.padding.height + ky;
      if (iy >= 0 && iy < in.height) rows[static_cast<std::size_t>(ky)] = &in(n, iy, 0, 0);
    }
    int8_depthwise_row_args d;
    d.rows = rows.data();
    d.in_stride = in.channel_stride;
    d.in_width = in.width;
    d.out = &k.output(n, y, 0, 0);
    d.out_stride = k.output.channel_stride;
    d.out_width = k.output.width;
    d.channels = k.output.channels;
    d.channel_step = k.channel_step;
    if (k.residual.data != nullptr) {
      d.residual = &k.residual(n, y, 0, 0);
      d.residual_stride = k.residual.channel_stride;
    }
    d.packed = k.packed;
    d.layout = k.pack.depthwise;
    d.kernel = s.kernel.height;
    d.stride = s.stride.height;
    d.padding = s.padding.height;
    d.q = &k.q;
    int8_depthwise_row<Arch>(d);
  });
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::depthwise_conv2d> {
  static void run(const simd::int8_kernel_args& a) {
    simd::int8_depthwise<Arch>(a, a.first, a.last);
  }
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
// Standard convolution (the stem, plain CNNs, ResNets): a few output rows at a time, their input
// windows gathered into a small row-major patch matrix (zeros where the window leaves the image),
// then one register-blocked product over it with the bias, residual and activation fused.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/gemm.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>

#include <algorithm>
#include <cstddef>

namespace lmnet::simd {

/// Floats of patch matrix per output row of a group.
constexpr std::size_t conv2d_patch_floats(const layer_spec& s) {
  return static_cast<std::size_t>(s.output.width) * static_cast<std::size_t>(s.kernel.height) *
         static_cast<std::size_t>(s.kernel.width) *
         static_cast<std::size_t>(s.input.channels / s.groups);
}

/// Output rows per patch matrix: as many as fit in about 64 KiB, at least one.
constexpr int conv2d_chunk_rows(const layer_spec& s) {
  const std::size_t row = conv2d_patch_floats(s);
  const std::size_t rows = row == 0 ? 1 : 16384 / row;
  return static_cast<int>(
      std::clamp<std::size_t>(rows, 1, static_cast<std::size_t>(s.output.height)));
}

/// Floats of scratch `conv2d` needs: the patch matrix and a register of slack.
constexpr std::size_t conv2d_scratch_floats(const layer_spec& s) {
  return conv2d_patch_floats(s) * static_cast<std::size_t>(conv2d_chunk_rows(s)) + 64;
}

namespace detail {

// n floats from src to dst, whole registers: reads nothing past src[n - 1] but may write up to a
// register past dst[n - 1] (the patch matrix has that slack, and the next run overwrites it).
// Masked stores would stall the loads that read the patch right after.
template <class Arch>
LMNET_FORCEINLINE void copy_floats(float* dst, const float* src, int n) {
  using V = vector<Arch>;
  int i = 0;
  for (; i + V::width <= n; i += V::width) V::store(dst + i, V::load(src + i));
  if (i < n) V::store(dst + i, V::load_first(src + i, n - i));
}

template <class Arch>
LMNET_FORCEINLINE void zero_floats(float* dst, int n) {
  using V = vector<Arch>;
  for (int i = 0; i < n; i += V::width) V::store(dst + i, V::zero());
}

// Whether group g's channels are the whole input pixel: then the taps of one window row that
// lie inside the image are contiguous in the input.
inline bool whole_pixels(const layer_spec& s, tensor_view<const float> in) {
  return s.input.channels / s.groups == in.channel_stride;
}

// Output pixels whose window lies inside the image's width: [begin, end) (empty unless the
// group's channels are whole pixels).
struct inner_columns {
  int begin;
  int end;
};
inline inner_columns inner_columns_of(const layer_spec& s, tensor_view<const float> in) {
  const int sx = s.stride.width, px = s.padding.width;
  const int begin = std::min(s.output.width, (px + sx - 1) / sx);
  const int last_start = in.width - s.kernel.width + px;
  const int end =
      whole_pixels(s, in)
          ? std::max(begin, std::min(s.output.width, last_start < 0 ? 0 : last_start / sx + 1))
          : begin;
  return {begin, end};
}

// The window of output pixel (y, x) of image n, group g, into p in (ky, kx, channel) order, zeros
// where it leaves the image; returns the end of what it wrote.
template <class Arch>
float* gather_window(const layer_spec& s, tensor_view<const float> in, int n, int g, int y, int x,
                     float* p) {
  const int ig = s.input.channels / s.groups;
  const int kh = s.kernel.height, kw = s.kernel.width, run = kw * ig;
  const int ix0 = x * s.stride.width - s.padding.width;
  const int kx0 = std::max(0, -ix0), kx1 = std::min(kw, in.width - ix0);
  for (int ky = 0; ky < kh; ++ky, p += run) {
    const int iy = y * s.stride.height - s.padding.height + ky;
    if (iy < 0 || iy >= in.height || kx0 >= kx1) {
      zero_floats<Arch>(p, run);
      continue;
    }
    zero_floats<Arch>(p, kx0 * ig);
    if (whole_pixels(s, in)) {
      copy_floats<Arch>(p + kx0 * ig, &in(n, iy, ix0 + kx0, 0), (kx1 - kx0) * ig);
    } else {
      for (int kx = kx0; kx < kx1; ++kx) {
        copy_floats<Arch>(p + kx * ig, &in(n, iy, ix0 + kx, g * ig), ig);
      }
    }
    zero_floats<Arch>(p + kx1 * ig, (kw - kx1) * ig);
  }
  return p;
}

// Rows [y0, y1) of image n, group g, into the patch matrix: for each output pixel, its window in
// (ky, kx, channel) order. For the pixels away from the left and right borders of whole-pixel
// groups, each window row is one copy.
template <class Arch>
void gather_patches(const layer_spec& s, tensor_view<const float> in, int n, int g, int y0, int y1,
                    float* patch) {
  const int ig = s.input.channels / s.groups;
  const int kh = s.kernel.height, kw = s.kernel.width;
  const int sx = s.stride.width, px = s.padding.width;
  const auto [inner_begin, inner_end] = inner_columns_of(s, in);
  const int run = kw * ig;
  float* p = patch;
  for (int y = y0; y < y1; ++y) {
    auto window = [&](int x) { p = gather_window<Arch>(s, in, n, g, y, x, p); };
    for (int x = 0; x < inner_begin; ++x) window(x);
    if (inner_begin < inner_end) {
      const float* rows[16];
      const int taps = std::min(kh, 16);
      for (int ky = 0; ky < taps; ++ky) {
        const int iy = y * s.stride.height - s.padding.height + ky;
        rows[ky] = iy < 0 || iy >= in.height ? nullptr : &in(n, iy, 0, 0);
      }
      if (kh <= 16) {
        for (int x = inner_begin; x < inner_end; ++x) {
          const std::ptrdiff_t offset = static_cast<std::ptrdiff_t>(x * sx - px) * ig;
          for (int ky = 0; ky < kh; ++ky, p += run) {
            if (rows[ky] == nullptr) {
              zero_floats<Arch>(p, run);
            } else {
              copy_floats<Arch>(p, rows[ky] + offset, run);
            }
          }
        }
      } else {
        for (int x = inner_begin; x < inner_end; ++x) window(x);
      }
    }
    for (int x = inner_end; x < s.output.width; ++x) window(x);
  }
}

}  // namespace detail

/// Output rows [y0, y1) of image n, group g, as `product` says (packed weights, layout, C and
/// residual at pixel (y0, 0), activation); output row y starts at product.c + (y - y0) * width *
/// c_stride. Where a group's channels are whole pixels, the pixels whose window lies inside the
/// image are read in place, one run of kernel-width pixels per kernel row: only the border
/// pixels go through the patch matrix in `scratch` (`conv2d_scratch_floats(s)` floats).
template <class Arch>
void conv2d_product(const layer_spec& s, tensor_view<const float> in, int n, int g, int y0, int y1,
                    const gemm_args& product, float* scratch) {
  const int width = s.output.width, k = product.layout.k;
  // Pixels [x, x + count) of row y, their A rows from `a`.
  auto run = [&](int y, int x, int count, const float* a, std::ptrdiff_t a_stride, int segments,
                 std::ptrdiff_t segment_stride) {
    gemm_args part = product;
    const std::ptrdiff_t pixel = static_cast<std::ptrdiff_t>(y - y0) * width + x;
    part.a = a;
    part.a_stride = a_stride;
    part.rows = count;
    part.c = product.c + pixel * product.c_stride;
    if (product.residual != nullptr)
      part.residual = product.residual + pixel * product.residual_stride;
    part.segments = segments;
    part.segment_stride = segment_stride;
    gemm<Arch>(part);
  };
  const auto [inner_begin, inner_end] = detail::inner_columns_of(s, in);
  if (inner_begin >= inner_end) {
    const int chunk = conv2d_chunk_rows(s);
    for (int y = y0; y < y1; y += chunk) {
      const int end = std::min(y1, y + chunk);
      detail::gather_patches<Arch>(s, in, n, g, y, end, scratch);
      run(y, 0, (end - y) * width, scratch, k, 1, 0);
    }
    return;
  }
  const int kh = s.kernel.height;
  const std::ptrdiff_t pixel = in.channel_stride, row = in.width * pixel;
  for (int y = y0; y < y1; ++y) {
    const int iy = y * s.stride.height - s.padding.height;
    if (iy < 0 || iy + kh > in.height) {  // the window leaves the image at the top or bottom
      detail::gather_patches<Arch>(s, in, n, g, y, y + 1, scratch);
      run(y, 0, width, scratch, k, 1, 0);
      continue;
    }
    for (int x = 0; x < inner_begin; ++x)
      detail::gather_window<Arch>(s, in, n, g, y, x, scratch + static_cast<std::ptrdiff_t>(x) * k);
    if (inner_begin > 0) run(y, 0, inner_begin, scratch, k, 1, 0);
    const int ix = inner_begin * s.stride.width - s.padding.width;
    run(y, inner_begin, inner_end - inner_begin, &in(n, iy, ix, 0), s.stride.width * pixel, kh,
        row);
    for (int x = inner_end; x < width; ++x) {
      detail::gather_window<Arch>(s, in, n, g, y, x,
                                  scratch + static_cast<std::ptrdiff_t>(x - inner_end) * k);
    }
    if (inner_end < width) run(y, inner_end, width - inner_end, scratch, k, 1, 0);
  }
}

/// Output rows [y0, y1) of image n of an ungrouped convolution, without residual, into rows of
/// pixels `pitch` floats apart starting at `out` (a fused block's ring of rows, whose padding
/// channels take whole registers).
template <class Arch>
void conv2d_rows(const layer_spec& s, tensor_view<const float> in, int n, int y0, int y1,
                 float* out, std::ptrdiff_t pitch, int store_channels, const float* packed,
                 const packing& p, float* scratch) {
  gemm_args a;
  a.packed = packed;
  a.layout = p.gemm;
  a.c = out;
  a.c_stride = pitch;
  a.n_store = store_channels;
  a.act = s.act;
  conv2d_product<Arch>(s, in, n, 0, y0, y1, a, scratch);
}

/// A standard convolution over output rows [q0, q1) of the batch (row q: image q / height, row
/// q % height), with `conv2d_scratch_floats(s)` floats of scratch.
template <class Arch>
void conv2d(const layer_spec& s, tensor_view<const float> in, tensor_view<float> out,
            tensor_view<const float> residual, const float* packed, const packing& p, int q0,
            int q1, float* scratch) {
  const int og = s.output.channels / s.groups;
  for (int q = q0; q < q1;) {
    const int n = q / out.height, y0 = q % out.height;
    const int y1 = std::min(out.height, y0 + (q1 - q));
    for (int g = 0; g < s.groups; ++g) {
      gemm_args a;
      a.packed = packed + static_cast<std::size_t>(g) * p.group_floats;
      a.layout = p.gemm;
      a.c = &out(n, y0, 0, g * og);
      a.c_stride = out.channel_stride;
      a.n_store = og;
      if (residual.data != nullptr) {
        a.residual = &residual(n, y0, 0, g * og);
        a.residual_stride = residual.channel_stride;
      }
      a.act = s.act;
      conv2d_product<Arch>(s, in, n, g, y0, y1, a, scratch);
    }
    q += y1 - y0;
  }
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::conv2d> {
  static void run(const simd::kernel_args& a) {
    simd::conv2d<Arch>(a.n.spec, a.inputs[0], a.output, a.residual, a.packed, a.pack, a.first,
                       a.last, a.scratch);
  }
};

}  // namespace lmnet

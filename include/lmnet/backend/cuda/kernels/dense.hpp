// SPDX-License-Identifier: Apache-2.0
// Dense layers over a few images: each warp reduces one output's dot product over the flattened
// input, for up to eight images at once, so the weights are read once per eight images. Larger
// batches use `gemm` (gemm.hpp).
#pragma once

#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/kernels/body.hpp>
#include <lmnet/backend/cuda/kernels/gemm.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

#include <cstddef>

namespace lmnet::cuda {

/// Weights (O, F), F = H * W * C in (h, w, c) order: row o at weights + o * F.
struct dense_params {
  tensor_view<const float> in;
  tensor_view<float> out;
  const float* weights = nullptr;
  const float* bias = nullptr;
  activation act = activation::none;
};

/// `Vector`: the input is contiguous per image and F % 4 == 0, read as float4.
template <bool Vector>
struct dense_gemv {
  using params = dense_params;
  static constexpr int threads = 256;
  static constexpr int warps = threads / 32;
  static constexpr int images = 8;  // per block
  static constexpr int lanes = Vector ? 4 : 1;

  static launch_shape shape(const params& p) {
    return {{static_cast<unsigned>(ceil_div(p.out.channels, warps)),
             static_cast<unsigned>(ceil_div(p.in.batch, images)), 1},
            threads,
            sizeof(float) * warps * images * 32};
  }

  template <class Ctx>
  LMNET_DEVICE static void run(const params& p, Ctx& ctx) {
    float* partial = ctx.shared();  // [warp][image][lane]
    const int features = p.in.height * p.in.width * p.in.channels;
    const int o0 = ctx.block_x() * warps, n0 = ctx.block_y() * images;
    ctx.phase([&](int t) {
      const int warp = t / 32, lane = t % 32, o = o0 + warp;
      lane_t<Vector> sums[images];
      for (int i = 0; i < images; ++i) sums[i] = lane_t<Vector>{};
      if (o < p.out.channels) {
        const float* w = p.weights + static_cast<std::size_t>(o) * features;
        for (int f = lane * lanes; f < features; f += 32 * lanes) {
          const lane_t<Vector> wf = load_lanes<Vector>(w + f);
          for (int i = 0; i < images; ++i) {
            if (n0 + i < p.in.batch) sums[i] = madd(feature(p.in, n0 + i, f), wf, sums[i]);
          }
        }
      }
      for (int i = 0; i < images; ++i) partial[(warp * images + i) * 32 + lane] = total(sums[i]);
    });
    ctx.each([&](int t) {
      if (t >= warps * images) return;
      const int warp = t / images, i = t % images;
      const int o = o0 + warp, n = n0 + i;
      if (o >= p.out.channels || n >= p.in.batch) return;
      float sum = load(p.bias + o);
      for (int lane = 0; lane < 32; ++lane) sum += partial[(warp * images + i) * 32 + lane];
      p.out(n, 0, 0, o) = activate(sum, p.act);
    });
  }

 private:
  LMNET_DEVICE static lane_t<Vector> feature(const tensor_view<const float>& in, int n, int f) {
    if constexpr (Vector) {
      return load4(in.data + static_cast<std::size_t>(n) * in.height * in.width * in.channels + f);
    } else {
      const int c = f % in.channels, pixel = f / in.channels;
      return load(in.data + in.pixel(n, pixel / in.width, pixel % in.width) + c);
    }
  }
  LMNET_DEVICE static float total(float v) { return v; }
  LMNET_DEVICE static float total(vec4 v) { return (v.x + v.y) + (v.z + v.w); }
};

}  // namespace lmnet::cuda

namespace lmnet {

template <>
struct kernel<backend::cuda, op::dense> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    const tensor_view<const float> in = b.input_view(n.input());
    const tensor_view<float> out = b.output_view(n.output);
    const int features = in.height * in.width * in.channels;
    const bool contiguous = in.dense() && cuda::aligned16(in.data) && features % 4 == 0;
    if (b.batch() > cuda::dense_gemv<true>::images && in.dense()) {
      cuda::gemm_params p{};
      p.a = in.data;
      p.a_stride = features;
      p.b = b.weights(i);
      p.bias = b.bias(i);
      p.c = out.data;
      p.c_stride = out.channel_stride;
      p.m = in.batch;
      p.n = out.channels;
      p.k = features;
      p.act = n.spec.act;
      return cuda::schedule_gemm(b, p, contiguous, i);
    }
    const cuda::dense_params p{in, out, b.rows(i), b.bias(i), n.spec.act};
    contiguous ? b.add(cuda::dense_gemv<true>{}, p, i, i)
               : b.add(cuda::dense_gemv<false>{}, p, i, i);
  }
};

}  // namespace lmnet

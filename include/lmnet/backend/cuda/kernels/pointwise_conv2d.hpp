// SPDX-License-Identifier: Apache-2.0
// 1x1 convolutions, dense or grouped, left unfused: a matrix product (gemm.hpp) of every pixel of
// the batch by the weights, with bias, residual and activation in its epilogue.
#pragma once

#include <lmnet/backend/cuda/geometry.hpp>
#include <lmnet/backend/cuda/kernels/gemm.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

namespace lmnet {

template <>
struct kernel<backend::cuda, op::pointwise_conv2d> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    const tensor_view<const float> in = b.input_view(n.input());
    const tensor_view<float> out = b.output_view(n.output);
    cuda::gemm_params p{};
    p.a = in.data;
    p.a_stride = in.channel_stride;
    p.b = b.weights(i);
    p.bias = b.bias(i);
    p.c = out.data;
    p.c_stride = out.channel_stride;
    if (n.residual >= 0) {
      const tensor_view<const float> r = b.input_view(n.residual);
      p.residual = r.data;
      p.residual_stride = r.channel_stride;
    }
    p.m = out.batch * out.height * out.width;
    p.groups = n.spec.groups;
    p.n = out.channels / p.groups;
    p.k = in.channels / p.groups;
    p.act = n.spec.act;
    const bool vector = cuda::aligned16(in.data) && in.channel_stride % 4 == 0 && p.k % 4 == 0;
    cuda::schedule_gemm(b, p, vector, i);
  }
};

}  // namespace lmnet

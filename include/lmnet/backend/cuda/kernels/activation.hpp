// SPDX-License-Identifier: Apache-2.0
// An activation left as a layer (the plan fuses most into their producer): elementwise.hpp.
#pragma once

#include <lmnet/backend/cuda/kernels/elementwise.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

namespace lmnet {

template <>
struct kernel<backend::cuda, op::activation> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    cuda::elementwise_params p{};
    p.kind = cuda::elementwise_op::activation;
    p.a = b.input_view(n.input());
    p.out = b.output_view(n.output);
    p.act = n.spec.act;
    b.add(cuda::elementwise{}, p, i, i);
  }
};

}  // namespace lmnet

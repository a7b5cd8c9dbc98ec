// SPDX-License-Identifier: Apache-2.0
// The channel shuffle: elementwise.hpp, each output channel read from its place in the input.
#pragma once

#include <lmnet/backend/cuda/kernels/elementwise.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

namespace lmnet {

template <>
struct kernel<backend::cuda, op::channel_shuffle> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    cuda::elementwise_params p{};
    p.kind = cuda::elementwise_op::shuffle;
    p.a = b.input_view(n.input());
    p.out = b.output_view(n.output);
    p.groups = n.spec.groups;
    b.add(cuda::elementwise{}, p, i, i);
  }
};

}  // namespace lmnet

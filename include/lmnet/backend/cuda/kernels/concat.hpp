// SPDX-License-Identifier: Apache-2.0
// Concatenation over channels: the plan writes most inputs in place, into their slot of the
// output; the others are copied there (elementwise.hpp with no activation).
#pragma once

#include <lmnet/backend/cuda/kernels/elementwise.hpp>
#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/network/node.hpp>

#include <cstddef>

namespace lmnet {

template <>
struct kernel<backend::cuda, op::concat> {
  template <class Builder>
  static void schedule(Builder& b, int i) {
    const node& n = b.at(i);
    const tensor_view<float> out = b.output_view(n.output);
    int begin = 0;
    for (int k = 0; k < n.input_count; ++k) {
      const tensor_view<const float> in = b.input_view(n.inputs[static_cast<std::size_t>(k)]);
      if (in.data != out.data + begin) {
        cuda::elementwise_params p{};
        p.kind = cuda::elementwise_op::activation;
        p.a = in;
        p.out = {out.data + begin, out.batch,   out.height,
                 out.width,        in.channels, out.channel_stride};
        b.add(cuda::elementwise{}, p, i, i);
      }
      begin += in.channels;
    }
  }
};

}  // namespace lmnet

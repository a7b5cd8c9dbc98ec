// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/simd/packing.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/network/node.hpp>

#include <span>

namespace lmnet::simd {

/// What a layer's kernel (kernel<backend::simd<Arch>, op>::run) receives for its part of a step:
/// the node, views of its tensors for the whole batch, its packed weights and the part to run.
struct kernel_args {
  const node& n;
  std::span<const tensor_view<const float>> inputs;
  tensor_view<float> output;          // with channel_step > 1, the output's shuffled place
  tensor_view<const float> residual;  // data == nullptr when none
  const float* packed;
  const packing& pack;
  int channel_step = 1;  // output channel j goes to channel j * channel_step of `output`
  int first = 0;         // output rows [first, last) of the batch (row q: image q / height, row
  int last = 0;          // q % height); for a dense layer, register blocks of output channels
  int image_begin = 0;   // a dense layer's images [image_begin, image_end)
  int image_end = 0;
  float* scratch = nullptr;  // the thread's
};

}  // namespace lmnet::simd

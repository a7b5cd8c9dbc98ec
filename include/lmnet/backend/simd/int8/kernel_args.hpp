// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/simd/int8/packing.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/network/node.hpp>
#include <lmnet/quantization/quantize.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace lmnet::simd {

/// What an int8 layer kernel (kernel<backend::int8<backend::simd<Arch>>, op>::run) receives for
/// its part of a step: the node and its int8 form, uint8 views of its tensors for the whole
/// batch, its packed weights and the part to run.
struct int8_kernel_args {
  const node& n;
  const quantized_node& q;
  std::span<const tensor_view<const std::uint8_t>> inputs;
  tensor_view<std::uint8_t> output;          // with channel_step > 1, the output's shuffled place
  tensor_view<const std::uint8_t> residual;  // data == nullptr when none
  const std::byte* packed;
  const int8_packing& pack;
  int channel_step = 1;  // output channel j goes to channel j * channel_step of `output`
  int first = 0;         // output rows [first, last) of the batch (row q: image q / height, row
  int last = 0;          // q % height); for a dense layer, blocks of 16 output channels
  int image_begin = 0;   // a dense layer's images [image_begin, image_end)
  int image_end = 0;
  std::uint8_t* scratch = nullptr;  // the thread's
};

/// Calls f(n, y) for the output rows [first, last) of a batch of images `height` rows high.
template <class F>
void for_each_row(int height, int first, int last, F&& f) {
  for (int q = first; q < last; ++q) f(q / height, q % height);
}

}  // namespace lmnet::simd

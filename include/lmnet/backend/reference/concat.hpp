// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <span>

namespace lmnet::reference {

/// Copies the inputs side by side along channels. An input whose memory already is its place in
/// the output (the planner made its producer write there) is skipped.
inline void concat(std::span<const tensor_view<const float>> inputs, tensor_view<float> out) {
  int begin = 0;
  for (const tensor_view<const float>& in : inputs) {
    if (in.data != out.data + begin) {
      for (int n = 0; n < out.batch; ++n) {
        for (int y = 0; y < out.height; ++y) {
          for (int x = 0; x < out.width; ++x) {
            for (int c = 0; c < in.channels; ++c) out(n, y, x, begin + c) = in(n, y, x, c);
          }
        }
      }
    }
    begin += in.channels;
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::reference, op::concat> {
  static void run(const kernel_args& a) { reference::concat(a.inputs, a.output); }
};

}  // namespace lmnet

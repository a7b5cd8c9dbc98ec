// SPDX-License-Identifier: Apache-2.0
#pragma once

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

/// out channel j = in channel (j % groups) * (C / groups) + j / groups.
inline void channel_shuffle(tensor_view<const float> in, tensor_view<float> out, int groups) {
  const int per_group = in.channels / groups;
  for (int n = 0; n < out.batch; ++n) {
    for (int y = 0; y < out.height; ++y) {
      for (int x = 0; x < out.width; ++x) {
        for (int j = 0; j < out.channels; ++j) {
          out(n, y, x, j) = in(n, y, x, (j % groups) * per_group + j / groups);
        }
      }
    }
  }
}

}  // namespace lmnet::reference

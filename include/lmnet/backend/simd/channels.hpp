// SPDX-License-Identifier: Apache-2.0
// Concatenation and channel shuffle where the plan could not make them views: copies of whole
// pixel rows of channels.
#pragma once

#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <algorithm>
#include <cstring>
#include <span>

namespace lmnet::simd {

/// Rows [q0, q1): copies each input that is not already in its place in the output.
inline void concat(std::span<const tensor_view<const float>> inputs, tensor_view<float> out, int q0,
                   int q1) {
  int begin = 0;
  for (const tensor_view<const float>& in : inputs) {
    if (in.data != out.data + begin) {
      for (int q = q0; q < q1; ++q) {
        const int n = q / out.height, y = q % out.height;
        for (int x = 0; x < out.width; ++x) {
          std::memcpy(&out(n, y, x, begin), &in(n, y, x, 0),
                      static_cast<std::size_t>(in.channels) * sizeof(float));
        }
      }
    }
    begin += in.channels;
  }
}

/// Rows [q0, q1): out channel j = in channel (j % groups) * (C / groups) + j / groups, gathered
/// group by group so each group's channels are read contiguously.
inline void channel_shuffle(tensor_view<const float> in, tensor_view<float> out, int groups, int q0,
                            int q1) {
  const int per_group = in.channels / groups;
  for (int q = q0; q < q1; ++q) {
    const int n = q / out.height, y = q % out.height;
    for (int x = 0; x < out.width; ++x) {
      const float* i = &in(n, y, x, 0);
      float* o = &out(n, y, x, 0);
      for (int g = 0; g < groups; ++g) {
        for (int k = 0; k < per_group; ++k) o[k * groups + g] = i[g * per_group + k];
      }
    }
  }
}

/// Rows [q0, q1): channel c of `in` goes to channel c * step of `out` (a concat input written
/// straight into its place after a channel shuffle).
template <class Arch>
void strided_copy(tensor_view<const float> in, tensor_view<float> out, int step, int q0, int q1) {
  using V = vector<Arch>;
  for (int q = q0; q < q1; ++q) {
    const int n = q / in.height, y = q % in.height;
    for (int x = 0; x < in.width; ++x) {
      const float* i = &in(n, y, x, 0);
      float* o = &out(n, y, x, 0);
      for (int c = 0; c < in.channels; c += V::width) {
        const int lanes = std::min(V::width, in.channels - c);
        V::store_strided(o + c * step, V::load_first(i + c, lanes), step, lanes);
      }
    }
  }
}

}  // namespace lmnet::simd

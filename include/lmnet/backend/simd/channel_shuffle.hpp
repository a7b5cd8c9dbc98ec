// SPDX-License-Identifier: Apache-2.0
// The channel shuffle, and the strided copy that replaces it when its input is a concat (the
// schedule then folds the shuffle into the concat's producers, see shuffle_folding.hpp).
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>

#include <algorithm>

namespace lmnet::simd {

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

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::channel_shuffle> {
  static void run(const simd::kernel_args& a) {
    simd::channel_shuffle(a.inputs[0], a.output, a.n.spec.groups, a.first, a.last);
  }
};

}  // namespace lmnet

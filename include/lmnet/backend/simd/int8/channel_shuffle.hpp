// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/quantization/params.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lmnet::simd {

/// Rows [q0, q1): out channel j = in channel (j % groups) * (C / groups) + j / groups.
inline void int8_channel_shuffle(const int8_kernel_args& k, int q0, int q1) {
  const tensor_view<const std::uint8_t> in = k.inputs[0];
  const int groups = k.n.spec.groups, per_group = in.channels / groups;
  for_each_row(k.output.height, q0, q1, [&](int n, int y) {
    for (int x = 0; x < k.output.width; ++x)
      for (int j = 0; j < k.output.channels; ++j)
        k.output(n, y, x, j) = in(n, y, x, (j % groups) * per_group + j / groups);
  });
}

/// Rows [q0, q1): channel c of `in` goes to channel c * step of `out` (a concat input written
/// straight into its place after a channel shuffle; see simd/shuffle_folding.hpp).
inline void int8_strided_copy(tensor_view<const std::uint8_t> in, tensor_view<std::uint8_t> out,
                              int step, int q0, int q1) {
  for_each_row(in.height, q0, q1, [&](int n, int y) {
    for (int x = 0; x < in.width; ++x) {
      const std::uint8_t* i = &in(n, y, x, 0);
      std::uint8_t* o = &out(n, y, x, 0);
      for (int c = 0; c < in.channels; ++c) o[c * step] = i[c];
    }
  });
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::channel_shuffle> {
  static void run(const simd::int8_kernel_args& a) {
    simd::int8_channel_shuffle(a, a.first, a.last);
  }
};

}  // namespace lmnet

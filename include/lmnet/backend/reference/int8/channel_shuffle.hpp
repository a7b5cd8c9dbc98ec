// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
namespace lmnet::reference {

/// out channel j = in channel (j % groups) * (C / groups) + j / groups (shared params).
inline void channel_shuffle_int8(const int8_kernel_args& a) {
  const tensor_view<const std::uint8_t> in = a.inputs[0];
  const tensor_view<std::uint8_t> out = a.output;
  const int groups = a.n.spec.groups, per_group = in.channels / groups;
  for (int n = 0; n < out.batch; ++n)
    for (int y = 0; y < out.height; ++y)
      for (int x = 0; x < out.width; ++x)
        for (int j = 0; j < out.channels; ++j)
          out(n, y, x, j) = in(n, y, x, (j % groups) * per_group + j / groups);
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::channel_shuffle> {
  static void run(const reference::int8_kernel_args& a) { reference::channel_shuffle_int8(a); }
};

}  // namespace lmnet

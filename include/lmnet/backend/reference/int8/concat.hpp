// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/reference/int8/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>

#include <cstdint>

namespace lmnet::reference {

/// Copies the inputs side by side (they share the output's params); an input already in its
/// place is skipped.
inline void concat_int8(const int8_kernel_args& a) {
  const tensor_view<std::uint8_t> out = a.output;
  int begin = 0;
  for (const tensor_view<const std::uint8_t>& in : a.inputs) {
    if (in.data != out.data + begin) {
      for (int n = 0; n < out.batch; ++n)
        for (int y = 0; y < out.height; ++y)
          for (int x = 0; x < out.width; ++x)
            for (int c = 0; c < in.channels; ++c) out(n, y, x, begin + c) = in(n, y, x, c);
    }
    begin += in.channels;
  }
}

}  // namespace lmnet::reference

namespace lmnet {

template <>
struct kernel<backend::int8<backend::reference>, op::concat> {
  static void run(const reference::int8_kernel_args& a) { reference::concat_int8(a); }
};

}  // namespace lmnet

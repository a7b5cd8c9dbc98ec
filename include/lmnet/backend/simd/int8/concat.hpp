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

/// Rows [q0, q1): copies each input not already in its place (inputs share the output's params).
inline void int8_concat(const int8_kernel_args& k, int q0, int q1) {
  int begin = 0;
  for (const tensor_view<const std::uint8_t>& in : k.inputs) {
    if (in.data != k.output.data + begin) {
      for_each_row(k.output.height, q0, q1, [&](int n, int y) {
        for (int x = 0; x < k.output.width; ++x)
          std::memcpy(&k.output(n, y, x, begin), &in(n, y, x, 0),
                      static_cast<std::size_t>(in.channels));
      });
    }
    begin += in.channels;
  }
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::int8<backend::simd<Arch>>, op::concat> {
  static void run(const simd::int8_kernel_args& a) { simd::int8_concat(a, a.first, a.last); }
};

}  // namespace lmnet

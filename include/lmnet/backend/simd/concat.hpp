// SPDX-License-Identifier: Apache-2.0
// A concatenation the plan could not make a view: copies of whole pixel rows of channels.
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/tensor_view.hpp>

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

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::concat> {
  static void run(const simd::kernel_args& a) { simd::concat(a.inputs, a.output, a.first, a.last); }
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
// An activation that fusion left standing (plans compiled with `.fuse = false`).
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>

namespace lmnet::simd {

namespace detail {

// f(out, a, b, lanes) over every pixel of the rows, a register (or its first lanes) at a time.
template <class Arch, class F>
void for_each_register(tensor_view<float> out, int q0, int q1, F f) {
  constexpr int W = vector<Arch>::width;
  for (int q = q0; q < q1; ++q) {
    for (int x = 0; x < out.width; ++x) {
      const int n = q / out.height, y = q % out.height;
      int c = 0;
      for (; c + W <= out.channels; c += W) f(n, y, x, c, W);
      if (c < out.channels) f(n, y, x, c, out.channels - c);
    }
  }
}

}  // namespace detail

/// out = act(in).
template <class Arch>
void apply_activation(tensor_view<const float> in, tensor_view<float> out, activation act, int q0,
                      int q1) {
  using V = vector<Arch>;
  detail::for_each_register<Arch>(out, q0, q1, [&](int n, int y, int x, int c, int lanes) {
    V::store_first(&out(n, y, x, c), V::activate(V::load_first(&in(n, y, x, c), lanes), act),
                   lanes);
  });
}

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::activation> {
  static void run(const simd::kernel_args& a) {
    simd::apply_activation<Arch>(a.inputs[0], a.output, a.n.spec.act, a.first, a.last);
  }
};

}  // namespace lmnet

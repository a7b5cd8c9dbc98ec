// SPDX-License-Identifier: Apache-2.0
// Elementwise layers that fusion left standing (plans compiled with `.fuse = false`): add and
// activation, over the pixel rows [q0, q1) of the batch (row q is image q / height, row q %
// height).
#pragma once

#include <lmnet/backend/simd/vector.hpp>
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

/// out = act(a + b).
template <class Arch>
void add(tensor_view<const float> a, tensor_view<const float> b, tensor_view<float> out,
         activation act, int q0, int q1) {
  using V = vector<Arch>;
  detail::for_each_register<Arch>(out, q0, q1, [&](int n, int y, int x, int c, int lanes) {
    const auto sum = V::load_first(&a(n, y, x, c), lanes) + V::load_first(&b(n, y, x, c), lanes);
    V::store_first(&out(n, y, x, c), V::activate(sum, act), lanes);
  });
}

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

// SPDX-License-Identifier: Apache-2.0
// A residual add that fusion left standing (plans compiled with `.fuse = false`).
#pragma once

#include <lmnet/backend/kernel.hpp>
#include <lmnet/backend/simd/activation.hpp>
#include <lmnet/backend/simd/kernel_args.hpp>
#include <lmnet/backend/simd/vector.hpp>
#include <lmnet/backend/tags.hpp>
#include <lmnet/core/activation.hpp>
#include <lmnet/core/tensor_view.hpp>

namespace lmnet::simd {

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

}  // namespace lmnet::simd

namespace lmnet {

template <class Arch>
struct kernel<backend::simd<Arch>, op::add> {
  static void run(const simd::kernel_args& a) {
    simd::add<Arch>(a.inputs[0], a.inputs[1], a.output, a.n.spec.act, a.first, a.last);
  }
};

}  // namespace lmnet

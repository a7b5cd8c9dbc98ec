// SPDX-License-Identifier: Apache-2.0
// A grouped 1x1 convolution whose groups do not divide its input channels.
#include <lmnet/lmnet.hpp>

using namespace lmnet;

#ifdef LMNET_COMPILE_FAIL
inline constexpr int groups = 3;
#else
inline constexpr int groups = 4;
#endif
inline constexpr auto net = network{
    input{8, 8, 16}, named("features", sequential(pointwise_conv2d{.out = 12, .groups = groups}))};

int main() {
  return plan_of<net>.weight_layers() == 1 ? 0 : 1;
}

// SPDX-License-Identifier: Apache-2.0
// A residual whose body changes the channel count.
#include <lmnet/lmnet.hpp>

using namespace lmnet;

#ifdef LMNET_COMPILE_FAIL
inline constexpr int project = 24;
#else
inline constexpr int project = 16;
#endif
inline constexpr auto net = network{
    input{8, 8, 16}, named("block", residual(pointwise_conv2d{.out = 64}, relu6, depthwise_conv2d{},
                                             relu6, pointwise_conv2d{.out = project}))};

int main() {
  return plan_of<net>.weight_layers() == 3 ? 0 : 1;
}

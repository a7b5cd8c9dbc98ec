// SPDX-License-Identifier: Apache-2.0
// A 1x1 convolution declared for 32 input channels placed after a 24-channel layer.
#include <lmnet/lmnet.hpp>

using namespace lmnet;

#ifdef LMNET_COMPILE_FAIL
inline constexpr auto net = network{input{32, 32, 3}, conv2d{.out = 24}, batch_norm{}, relu6,
                                    pointwise_conv2d{.in = 32, .out = 64}};
#else
inline constexpr auto net = network{input{32, 32, 3}, conv2d{.out = 24}, batch_norm{}, relu6,
                                    pointwise_conv2d{.in = 24, .out = 64}};
#endif

int main() {
  return plan_of<net>.weight_layers() == 2 ? 0 : 1;
}

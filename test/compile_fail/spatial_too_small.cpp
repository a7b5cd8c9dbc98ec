// SPDX-License-Identifier: Apache-2.0
// Three stride-2 stages shrink a 4x4 input below the 3x3 kernel of an unpadded convolution.
#include <lmnet/lmnet.hpp>

using namespace lmnet;

#ifdef LMNET_COMPILE_FAIL
inline constexpr int side = 4;
#else
inline constexpr int side = 32;
#endif
inline constexpr auto net = network{input{side, side, 3}, conv2d{.out = 8, .stride = 2},
                                    conv2d{.out = 8, .stride = 2}, conv2d{.out = 8, .padding = 0}};

int main() {
  return plan_of<net>.weight_layers() == 3 ? 0 : 1;
}

// SPDX-License-Identifier: Apache-2.0
// A batch norm whose module path ("2") is another layer's: the error names the batch norm.
#include <lmnet/lmnet.hpp>

using namespace lmnet;

#ifdef LMNET_COMPILE_FAIL
inline constexpr auto net =
    network{input{8, 8, 3}, named("2", conv2d{.out = 8}), conv2d{.out = 8}, batch_norm{}};
#else
inline constexpr auto net =
    network{input{8, 8, 3}, named("3", conv2d{.out = 8}), conv2d{.out = 8}, batch_norm{}};
#endif

int main() {
  return plan_of<net>.weight_layers() == 2 ? 0 : 1;
}

// SPDX-License-Identifier: Apache-2.0
// A backend of one's own that has a kernel for every layer type but dense: a network with a dense
// layer fails to compile, and the error names the missing kernel's op.
#include <lmnet/lmnet.hpp>

using namespace lmnet;

struct my_backend {};

namespace lmnet {

// Borrows the reference kernels (all of them when valid, all but dense otherwise).
template <op Kind>
#ifdef LMNET_COMPILE_FAIL
requires(Kind != op::dense)
#endif
    struct kernel<my_backend, Kind> : kernel<backend::reference, Kind> {
};

}  // namespace lmnet

inline constexpr auto net =
    network{input{8, 8, 3}, conv2d{.out = 4}, global_avg_pool{}, dense{.out = 2}};

int main() {
  static float arena[4096], input[192], weights[4096];
  execute_plan<my_backend, plan_of<net>>(arena, input, 1, weights);
  return 0;
}

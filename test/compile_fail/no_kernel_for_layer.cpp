// SPDX-License-Identifier: Apache-2.0
// A backend that runs plans with lmnet's executor but has no kernel for some layer.
#include <lmnet/lmnet.hpp>

using namespace lmnet;

inline constexpr auto net = network{input{8, 8, 3}, conv2d{.out = 4}};

#ifdef LMNET_COMPILE_FAIL
struct my_backend {};
#else
using my_backend = backend::reference;
#endif

int main() {
  float arena[1024] = {}, input[192] = {}, weights[256] = {};
  execute_plan<my_backend, plan_of<net>>(arena, input, 1, weights);
  return 0;
}

// SPDX-License-Identifier: Apache-2.0
// A model on a backend that provides no engine.
#include <lmnet/lmnet.hpp>

using namespace lmnet;

inline constexpr auto net = network{input{8, 8, 3}, conv2d{.out = 4}};

#ifdef LMNET_COMPILE_FAIL
struct my_backend {};
#else
using my_backend = backend::reference;
#endif

int main() {
  model<net, my_backend> m;
  return m.max_batch() == 1 ? 0 : 1;
}

// SPDX-License-Identifier: Apache-2.0
// A program outside lmnet's tree: describes a tiny network, loads random weights, runs it.
#include <lmnet/lmnet.hpp>

#include <cmath>
#include <cstdio>
#include <vector>

inline constexpr auto tiny = lmnet::network{lmnet::input{16, 16, 1},
                                            lmnet::conv2d{.out = 8, .stride = 2},
                                            lmnet::batch_norm{},
                                            lmnet::relu6,
                                            lmnet::inverted_residual{.out = 8, .expansion = 4},
                                            lmnet::global_avg_pool{},
                                            lmnet::dense{.out = 3}};

int main() {
  static_assert(lmnet::plan_of<tiny>.weight_layers() == 5);
  lmnet::model<tiny> m;
  m.load(lmnet::random_weights{});
  const std::vector<float> image(m.input_shape.size(), 0.5f);
  const auto logits = m.infer(image);
  double norm = 0;
  for (float v : logits) norm += std::abs(v);
  std::printf("lmnet %d.%d.%d: %zu logits, |logits| = %.4f\n", LMNET_VERSION_MAJOR,
              LMNET_VERSION_MINOR, LMNET_VERSION_PATCH, logits.size(), norm);
  return logits.size() == 3 && std::isfinite(norm) && norm > 0 ? 0 : 1;
}

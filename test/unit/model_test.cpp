// SPDX-License-Identifier: Apache-2.0
// A model's life on every CPU backend: no inference before weights are loaded.
#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <vector>

using namespace lmnet;

namespace {
inline constexpr auto tiny_net = network{input{4, 4, 2}, conv2d{.out = 4},  batch_norm{},
                                         relu,           global_avg_pool{}, dense{.out = 3}};
}  // namespace

TEST_CASE_TEMPLATE("model: infer before load is an error", Backend, backend::reference,
                   backend::simd<>) {
  model<tiny_net, Backend> m;
  const std::vector<float> image(m.input_shape.size(), 0.5f);
  const char* unloaded = "lmnet: infer() before load(): call load() (or load_folded()) first";
  CHECK_THROWS_WITH_AS(m.infer(image), unloaded, lmnet::error);
  // A load that fails leaves the model unloaded.
  tensor_map empty;
  CHECK_THROWS_AS(m.load(empty), lmnet::error);
  CHECK_THROWS_WITH_AS(m.infer(image), unloaded, lmnet::error);
  m.load(random_weights{1});
  const auto out = m.infer(image);
  CHECK(out.size() == 3);

  model<tiny_net, Backend> folded;
  CHECK_THROWS_WITH_AS(folded.infer(image), unloaded, lmnet::error);
  folded.load_folded(std::vector<float>(plan_of<tiny_net>.weight_floats, 0.0f));
  CHECK_NOTHROW(folded.infer(image));
}

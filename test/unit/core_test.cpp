// SPDX-License-Identifier: Apache-2.0
// Core vocabulary: shapes, views, buffers, module paths.
#include <lmnet/core/aligned_buffer.hpp>
#include <lmnet/core/shape.hpp>
#include <lmnet/core/tensor_view.hpp>
#include <lmnet/network/path.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <utility>

using namespace lmnet;

TEST_CASE("shape: size, validity, window arithmetic") {
  CHECK(shape{7, 5, 3}.size() == 105);
  CHECK(shape{7, 5, 3}.valid());
  CHECK_FALSE(shape{0, 5, 3}.valid());
  CHECK(window_output(224, 3, 2, 1) == 112);
  CHECK(window_output(7, 3, 2, 0) == 3);
  CHECK(window_output(1, 1, 1, 0) == 1);
  CHECK(extent2{3} == extent2{3, 3});
  CHECK(extent2{1, 7}.width == 7);
}

TEST_CASE("tensor_view: channel-strided indexing") {
  float data[2 * 3 * 4 * 5] = {};
  for (int i = 0; i < 120; ++i) data[i] = static_cast<float>(i);
  // A view of channels 1..2 of a (2, 3, 4, 5) tensor.
  const tensor_view<float> v{data + 1, 2, 3, 4, 2, 5};
  CHECK(v(0, 0, 0, 0) == 1.0f);
  CHECK(v(1, 2, 3, 1) == static_cast<float>(((1 * 3 + 2) * 4 + 3) * 5 + 2));
  CHECK_FALSE(v.dense());
  CHECK(v.image_shape() == shape{3, 4, 2});
  const tensor_view<const float> c = v;
  CHECK(c(0, 1, 0, 1) == v(0, 1, 0, 1));
}

TEST_CASE("aligned_buffer: aligned, zeroed, copyable, movable") {
  aligned_buffer a(37);
  CHECK(reinterpret_cast<std::uintptr_t>(a.data()) % aligned_buffer::alignment == 0);
  CHECK(a.size() == 37);
  for (float v : a.span()) CHECK(v == 0.0f);
  a.data()[5] = 2.5f;
  aligned_buffer b = a;
  CHECK(b.data()[5] == 2.5f);
  CHECK(b.data() != a.data());
  aligned_buffer c = std::move(a);
  CHECK(c.data()[5] == 2.5f);
  CHECK(a.size() == 0);  // NOLINT: moved-from state is specified as empty
  c.resize(0);
  CHECK(c.data() == nullptr);
}

TEST_CASE("path: rendering and equality across segmentations") {
  const path p = path{}.child("features").child(3).child("conv").child(1);
  CHECK(p.str() == "features.3.conv.1");
  CHECK(p.str("weight") == "features.3.conv.1.weight");
  CHECK(path{}.str("weight") == "weight");
  CHECK(path{}.child("features.3").child("conv").child(1) == p);
  CHECK_FALSE(path{}.child("features").child(4) == path{}.child("features").child(3));
  CHECK(path{}.empty());
}

// SPDX-License-Identifier: Apache-2.0
// Every kernel body of the CUDA backend, emulated on the host, against the reference backend:
// one small network per layer type, with channel counts that take the float4 paths (multiples of
// 4) and the scalar ones (odd), strides 1 and 2, 3x3 and 5x5 windows, views into wider tensors,
// and device limits that select each matrix tile.
#include "cuda_host_support.hpp"
#include "layer_networks.hpp"

#include <doctest/doctest.h>

using namespace lmnet;
using lmnet::test::compare_with_reference;
using namespace lmnet::test::layer_networks;

namespace {

template <const auto& Net>
void check(int batch, const char* what, cuda::device_limits limits = test::hopper) {
  INFO(what);
  const auto c = compare_with_reference<Net>(batch, limits, {.fuse_blocks = false});
  CHECK(c.error < 2e-5);
  CHECK(c.magnitude > 1e-3);
}

}  // namespace

TEST_CASE("cuda host kernels: depthwise 3x3 and 5x5, strides 1 and 2, float4 and scalar") {
  check<depthwise_net<3, 1, 16>>(2, "3x3 s1 float4");
  check<depthwise_net<3, 1, 7>>(2, "3x3 s1 scalar");
  check<depthwise_net<3, 2, 16>>(2, "3x3 s2 float4");
  check<depthwise_net<3, 2, 7>>(2, "3x3 s2 scalar");
  check<depthwise_net<5, 1, 12>>(2, "5x5 s1 float4");
  check<depthwise_net<5, 1, 5>>(2, "5x5 s1 scalar");
  check<depthwise_net<5, 2, 12>>(2, "5x5 s2 float4");
  check<depthwise_net<5, 2, 5>>(2, "5x5 s2 scalar");
  check<depthwise_net<7, 1, 8>>(2, "7x7 s1: the generic path");
  check<depthwise_net<7, 2, 3>>(2, "7x7 s2: the generic path, scalar");
  check<depthwise_residual_net<3, 8>>(2, "3x3 with a fused residual, float4");
  check<depthwise_residual_net<5, 3>>(2, "5x5 with a fused residual, scalar");
}

TEST_CASE("cuda host kernels: 1x1 convolutions on every matrix tile") {
  for (const auto& limits : {test::hopper, cuda::device_limits{1, 232448, 49152},
                             cuda::device_limits{100000, 232448, 49152}}) {
    check<pointwise_net<16, 40, 1>>(3, "dense 1x1, float4", limits);
    check<pointwise_net<15, 24, 1>>(3, "dense 1x1, scalar (k % 4 != 0)", limits);
    check<pointwise_net<16, 24, 2>>(3, "grouped 1x1, float4", limits);
    check<pointwise_net<12, 18, 3>>(3, "grouped 1x1, scalar", limits);
    check<pointwise_net<32, 200, 1>>(2, "1x1 wider than a tile", limits);
    check<pointwise_residual_net<8, 20>>(2, "1x1 with a fused residual", limits);
  }
}

TEST_CASE("cuda host kernels: direct convolutions") {
  check<stem_net<3, 16, 2>>(2, "stem 3->16 s2, four outputs per thread");
  check<stem_net<1, 6, 1>>(2, "stem 1->6 s1, one output per thread");
  check<grouped_conv_net>(2, "grouped 1x3 with padding (0, 1) and a bias");
  check<downsample_net>(2, "1x1 stride 2");
  check<full_conv_residual_net>(2, "3x3 with a fused residual");
}

TEST_CASE("cuda host kernels: dense layers, few images and many") {
  check<dense_net<4>>(3, "few images: warp per output, float4");
  check<dense_net<3>>(3, "few images: scalar (features % 4 != 0)");
  check<dense_net<4>>(11, "many images: matrix product");
  check<classifier_net>(2, "1000 outputs");
  check<classifier_net>(9, "1000 outputs, many images");
}

TEST_CASE("cuda host kernels: pooling, softmax and data movement") {
  check<pooling_net>(2, "max pools with and without padding, global average");
  check<softmax_net<10>>(3, "softmax over 10 channels");
  check<softmax_net<70>>(2, "softmax over more channels than a warp");
  check<moves_net>(2, "activation, add, shuffle, concat copies");
  const auto unfused = compare_with_reference<moves_net, compile_options{.fuse = false}>(
      2, test::hopper, {.fuse_blocks = false});
  INFO("unfused plan: activations and adds as layers");
  CHECK(unfused.error < 2e-5);
}

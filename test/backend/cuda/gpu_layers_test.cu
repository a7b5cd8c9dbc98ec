// SPDX-License-Identifier: Apache-2.0
// Every CUDA kernel on the GPU against the reference backend, one small network per layer type
// (the networks the host emulation tests run too).
#include "gpu_support.hpp"
#include "layer_networks.hpp"

#include <doctest/doctest.h>

using namespace lmnet;
using namespace lmnet::test::layer_networks;

namespace {

template <const auto& Net, compile_options Options = compile_options{}>
void check(int batch, const char* what) {
  INFO(what);
  for (const bool graphs : {true, false}) {
    const auto c = test::compare_on_gpu<Net, Options>(batch, {.graphs = graphs});
    CHECK(c.error < 2e-5);
    CHECK(c.magnitude > 1e-3);
    CHECK(c.repeatable);
  }
}

}  // namespace

TEST_CASE("cuda gpu kernels: depthwise 3x3 and 5x5, strides 1 and 2, float4 and scalar") {
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

TEST_CASE("cuda gpu kernels: 1x1 convolutions") {
  check<pointwise_net<16, 40, 1>>(3, "dense 1x1, float4");
  check<pointwise_net<15, 24, 1>>(3, "dense 1x1, scalar");
  check<pointwise_net<16, 24, 2>>(3, "grouped 1x1, float4");
  check<pointwise_net<12, 18, 3>>(3, "grouped 1x1, scalar");
  check<pointwise_net<32, 200, 1>>(2, "1x1 wider than a tile");
  check<pointwise_net<32, 200, 1>>(300, "1x1 over many rows: the large tiles");
  check<pointwise_residual_net<8, 20>>(2, "1x1 with a fused residual");
}

TEST_CASE("cuda gpu kernels: direct convolutions") {
  check<stem_net<3, 16, 2>>(2, "stem 3->16 s2");
  check<stem_net<1, 6, 1>>(2, "stem 1->6 s1");
  check<grouped_conv_net>(2, "grouped 1x3 with padding (0, 1) and a bias");
  check<downsample_net>(2, "1x1 stride 2");
  check<full_conv_residual_net>(2, "3x3 with a fused residual");
}

TEST_CASE("cuda gpu kernels: dense layers, few images and many") {
  check<dense_net<4>>(3, "few images, float4");
  check<dense_net<3>>(3, "few images, scalar");
  check<dense_net<4>>(11, "many images: matrix product");
  check<classifier_net>(2, "1000 outputs");
  check<classifier_net>(9, "1000 outputs, many images");
}

TEST_CASE("cuda gpu kernels: pooling, softmax and data movement") {
  check<pooling_net>(2, "max pools, global average");
  check<softmax_net<10>>(3, "softmax over 10 channels");
  check<softmax_net<70>>(2, "softmax over more channels than a warp");
  check<moves_net>(2, "activation, add, shuffle, concat copies");
  check<moves_net, compile_options{.fuse = false}>(2, "unfused: activations and adds as layers");
}

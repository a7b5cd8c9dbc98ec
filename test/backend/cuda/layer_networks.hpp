// SPDX-License-Identifier: Apache-2.0
// One small network per layer type of the CUDA backend, shared by its host (emulated) and GPU
// tests: channel counts that take the float4 paths (multiples of 4) and the scalar ones, strides 1
// and 2, 3x3, 5x5 and 7x7 windows, fused residuals, views into wider tensors.
#pragma once

#include <lmnet/lmnet.hpp>

namespace lmnet::test::layer_networks {

template <int Kernel, int Stride, int Channels>
inline constexpr auto depthwise_net =
    network{input{11, 9, Channels}, depthwise_conv2d{.kernel = Kernel, .stride = Stride},
            batch_norm{}, relu6};
template <int Kernel, int Channels>
inline constexpr auto depthwise_residual_net =
    network{input{7, 10, Channels}, residual(depthwise_conv2d{.kernel = Kernel}, batch_norm{})};

template <int In, int Out, int Groups>
inline constexpr auto pointwise_net =
    network{input{9, 13, In}, pointwise_conv2d{.out = Out, .groups = Groups}, batch_norm{}, relu};
template <int Channels, int Hidden>
inline constexpr auto pointwise_residual_net =
    network{input{6, 5, Channels}, residual(pointwise_conv2d{.out = Hidden}, relu6,
                                            pointwise_conv2d{.out = Channels}, batch_norm{})};

template <int In, int Out, int Stride>
inline constexpr auto stem_net =
    network{input{17, 15, In}, conv2d{.out = Out, .stride = Stride}, batch_norm{}, relu6};
inline constexpr auto grouped_conv_net =
    network{input{8, 8, 8},
            conv2d{.out = 12, .kernel = {1, 3}, .padding = {0, 1}, .groups = 2, .bias = true}};
inline constexpr auto downsample_net =
    network{input{8, 8, 8}, conv2d{.out = 16, .kernel = 1, .stride = 2, .padding = 0}};
inline constexpr auto full_conv_residual_net =
    network{input{8, 8, 16}, residual(conv2d{.out = 16}, batch_norm{}), relu};

template <int Channels>
inline constexpr auto dense_net =
    network{input{3, 4, Channels}, conv2d{.out = Channels, .bias = true}, relu, dense{.out = 9}};
inline constexpr auto classifier_net =
    network{input{4, 4, 40}, global_avg_pool{}, dense{.out = 1000}};

inline constexpr auto pooling_net =
    network{input{13, 11, 6}, max_pool2d{.kernel = 2},
            max_pool2d{.kernel = 3, .stride = 2, .padding = 1}, global_avg_pool{}};
template <int Classes>
inline constexpr auto softmax_net =
    network{input{3, 3, 4}, conv2d{.out = Classes, .bias = true}, softmax{}};

// An activation and an add left as layers (unfused plan), a shuffle, and a concat that copies
// (a slice of a tensor still in use cannot be written in place).
inline constexpr auto moves_net =
    network{input{6, 7, 12},
            conv2d{.out = 12},
            relu,
            concat(named("a", pointwise_conv2d{.out = 6}), channel_slice{2, 6},
                   named("b", depthwise_conv2d{})),
            channel_shuffle{3},
            sum(identity{}, named("c", pointwise_conv2d{.out = 24})),
            relu6};

}  // namespace lmnet::test::layer_networks

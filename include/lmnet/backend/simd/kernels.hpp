// SPDX-License-Identifier: Apache-2.0
// Every layer kernel of the simd backend, one header per layer type.
#pragma once

#include <lmnet/backend/simd/activation.hpp>
#include <lmnet/backend/simd/add.hpp>
#include <lmnet/backend/simd/channel_shuffle.hpp>
#include <lmnet/backend/simd/concat.hpp>
#include <lmnet/backend/simd/conv2d.hpp>
#include <lmnet/backend/simd/dense.hpp>
#include <lmnet/backend/simd/depthwise_conv2d.hpp>
#include <lmnet/backend/simd/global_avg_pool.hpp>
#include <lmnet/backend/simd/max_pool2d.hpp>
#include <lmnet/backend/simd/pointwise_conv2d.hpp>
#include <lmnet/backend/simd/softmax.hpp>

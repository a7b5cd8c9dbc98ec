// SPDX-License-Identifier: Apache-2.0
// Every int8 layer kernel of the simd backend, one header per layer type.
#pragma once

#include <lmnet/backend/simd/int8/activation.hpp>
#include <lmnet/backend/simd/int8/add.hpp>
#include <lmnet/backend/simd/int8/channel_shuffle.hpp>
#include <lmnet/backend/simd/int8/concat.hpp>
#include <lmnet/backend/simd/int8/conv2d.hpp>
#include <lmnet/backend/simd/int8/dense.hpp>
#include <lmnet/backend/simd/int8/depthwise_conv2d.hpp>
#include <lmnet/backend/simd/int8/global_avg_pool.hpp>
#include <lmnet/backend/simd/int8/max_pool2d.hpp>
#include <lmnet/backend/simd/int8/pointwise_conv2d.hpp>
#include <lmnet/backend/simd/int8/softmax.hpp>

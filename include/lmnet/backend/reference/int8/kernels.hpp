// SPDX-License-Identifier: Apache-2.0
// Every int8 kernel of the reference backend, one header per layer type: the oracle of the int8
// kernels of the other backends.
#pragma once

#include <lmnet/backend/reference/int8/activation.hpp>
#include <lmnet/backend/reference/int8/add.hpp>
#include <lmnet/backend/reference/int8/channel_shuffle.hpp>
#include <lmnet/backend/reference/int8/concat.hpp>
#include <lmnet/backend/reference/int8/conv2d.hpp>
#include <lmnet/backend/reference/int8/dense.hpp>
#include <lmnet/backend/reference/int8/depthwise_conv2d.hpp>
#include <lmnet/backend/reference/int8/global_avg_pool.hpp>
#include <lmnet/backend/reference/int8/max_pool2d.hpp>
#include <lmnet/backend/reference/int8/pointwise_conv2d.hpp>
#include <lmnet/backend/reference/int8/softmax.hpp>

// SPDX-License-Identifier: Apache-2.0
// Every kernel of the reference backend, one header per layer type.
#pragma once

#include <lmnet/backend/reference/activation.hpp>
#include <lmnet/backend/reference/add.hpp>
#include <lmnet/backend/reference/channel_shuffle.hpp>
#include <lmnet/backend/reference/concat.hpp>
#include <lmnet/backend/reference/conv2d.hpp>
#include <lmnet/backend/reference/dense.hpp>
#include <lmnet/backend/reference/depthwise_conv2d.hpp>
#include <lmnet/backend/reference/global_avg_pool.hpp>
#include <lmnet/backend/reference/max_pool2d.hpp>
#include <lmnet/backend/reference/pointwise_conv2d.hpp>
#include <lmnet/backend/reference/softmax.hpp>

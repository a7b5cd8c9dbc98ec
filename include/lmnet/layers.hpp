// SPDX-License-Identifier: Apache-2.0
// Every layer descriptor.
#pragma once

#include <lmnet/layers/activation.hpp>
#include <lmnet/layers/add.hpp>
#include <lmnet/layers/batch_norm.hpp>
#include <lmnet/layers/channel_shuffle.hpp>
#include <lmnet/layers/channel_slice.hpp>
#include <lmnet/layers/concat.hpp>
#include <lmnet/layers/conv2d.hpp>
#include <lmnet/layers/dense.hpp>
#include <lmnet/layers/depthwise_conv2d.hpp>
#include <lmnet/layers/global_avg_pool.hpp>
#include <lmnet/layers/layer.hpp>
#include <lmnet/layers/max_pool2d.hpp>
#include <lmnet/layers/pointwise_conv2d.hpp>
#include <lmnet/layers/softmax.hpp>

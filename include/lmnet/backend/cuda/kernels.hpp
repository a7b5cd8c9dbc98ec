// SPDX-License-Identifier: Apache-2.0
// Every kernel of the CUDA backend, one header per layer type: each specialises
// kernel<backend::cuda, op> with the `schedule` that appends its layer's launches (schedule.hpp).
#pragma once

#include <lmnet/backend/cuda/kernels/activation.hpp>
#include <lmnet/backend/cuda/kernels/add.hpp>
#include <lmnet/backend/cuda/kernels/channel_shuffle.hpp>
#include <lmnet/backend/cuda/kernels/concat.hpp>
#include <lmnet/backend/cuda/kernels/conv2d.hpp>
#include <lmnet/backend/cuda/kernels/dense.hpp>
#include <lmnet/backend/cuda/kernels/depthwise_conv2d.hpp>
#include <lmnet/backend/cuda/kernels/global_avg_pool.hpp>
#include <lmnet/backend/cuda/kernels/max_pool2d.hpp>
#include <lmnet/backend/cuda/kernels/pointwise_conv2d.hpp>
#include <lmnet/backend/cuda/kernels/softmax.hpp>

// SPDX-License-Identifier: Apache-2.0
// Preset networks.
#pragma once

#include <lmnet/models/l_mobilenet.hpp>
#include <lmnet/models/mobilenet_v2.hpp>
#include <lmnet/models/plain_cnn.hpp>
#include <lmnet/models/resnet_cifar.hpp>
#include <lmnet/models/shufflenet_v2.hpp>

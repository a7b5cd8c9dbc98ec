// SPDX-License-Identifier: Apache-2.0
// Composite blocks made of layers.
#pragma once

#include <lmnet/blocks/conv_bn.hpp>
#include <lmnet/blocks/inverted_residual.hpp>
#include <lmnet/blocks/l_bottleneck.hpp>
#include <lmnet/blocks/shuffle_unit.hpp>

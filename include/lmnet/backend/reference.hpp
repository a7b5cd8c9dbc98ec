// SPDX-License-Identifier: Apache-2.0
// The reference backend: readable scalar kernels, the oracle of the other backends.
#pragma once

#include <lmnet/backend/reference/channels.hpp>
#include <lmnet/backend/reference/conv2d.hpp>
#include <lmnet/backend/reference/dense.hpp>
#include <lmnet/backend/reference/elementwise.hpp>
#include <lmnet/backend/reference/engine.hpp>
#include <lmnet/backend/reference/pooling.hpp>
#include <lmnet/backend/reference/softmax.hpp>
#include <lmnet/backend/tags.hpp>

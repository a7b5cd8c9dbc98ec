// SPDX-License-Identifier: Apache-2.0
// The reference backend: readable scalar kernels, the oracle of the other backends.
#pragma once

#include <lmnet/backend/reference/engine.hpp>
#include <lmnet/backend/reference/kernels.hpp>
#include <lmnet/backend/tags.hpp>

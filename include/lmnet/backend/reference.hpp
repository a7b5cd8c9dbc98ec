// SPDX-License-Identifier: Apache-2.0
// The reference backend: readable scalar kernels, the oracle of the other backends, in fp32 and
// in int8 (backend::int8<backend::reference>).
#pragma once

#include <lmnet/backend/reference/engine.hpp>
#include <lmnet/backend/reference/int8/engine.hpp>
#include <lmnet/backend/reference/kernels.hpp>
#include <lmnet/backend/tags.hpp>

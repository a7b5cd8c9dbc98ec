// SPDX-License-Identifier: Apache-2.0
// Cascades of two classifiers and result caches: confidence scores, deferral rules, the cascade,
// exact and perceptual keys, the bounded cache, the cached wrapper, calibration.
#pragma once

#include <lmnet/cascade/cache.hpp>
#include <lmnet/cascade/cache_key.hpp>
#include <lmnet/cascade/cached.hpp>
#include <lmnet/cascade/calibration.hpp>
#include <lmnet/cascade/cascade.hpp>
#include <lmnet/cascade/classifier.hpp>
#include <lmnet/cascade/deferral.hpp>
#include <lmnet/cascade/hash.hpp>
#include <lmnet/cascade/perceptual_hash.hpp>
#include <lmnet/cascade/scores.hpp>

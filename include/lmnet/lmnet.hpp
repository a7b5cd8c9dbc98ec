// SPDX-License-Identifier: Apache-2.0
// Everything but the CUDA and SIMD backends: layers, blocks, networks, presets, weight loading,
// the reference backend, `model`, cascades and result caches.
#pragma once

#include <lmnet/backend/reference.hpp>
#include <lmnet/blocks.hpp>
#include <lmnet/cascade.hpp>
#include <lmnet/config.hpp>
#include <lmnet/io/bind.hpp>
#include <lmnet/io/embedded_weights.hpp>
#include <lmnet/io/random_weights.hpp>
#include <lmnet/io/safetensors.hpp>
#include <lmnet/io/tensor_map.hpp>
#include <lmnet/io/weight_source.hpp>
#include <lmnet/layers.hpp>
#include <lmnet/model.hpp>
#include <lmnet/models.hpp>
#include <lmnet/network.hpp>

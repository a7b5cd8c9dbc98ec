// SPDX-License-Identifier: Apache-2.0
// Network descriptions and their compile-time plan.
#pragma once

#include <lmnet/network/combinators.hpp>
#include <lmnet/network/compile.hpp>
#include <lmnet/network/graph.hpp>
#include <lmnet/network/node.hpp>
#include <lmnet/network/path.hpp>
#include <lmnet/network/plan.hpp>

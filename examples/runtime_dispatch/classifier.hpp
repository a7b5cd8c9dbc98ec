// SPDX-License-Identifier: Apache-2.0
// What the rest of the program sees of the network: an interface with no SIMD type in it, so
// main.cpp can be compiled for the baseline instruction set.
#pragma once

#include <memory>
#include <span>

class classifier {
 public:
  virtual ~classifier() = default;
  virtual std::span<const float> infer(std::span<const float> image) = 0;
  virtual const char* instruction_set() const = 0;
};

// One factory per instruction set, each defined in a translation unit compiled for it.
std::unique_ptr<classifier> make_classifier_avx512();
std::unique_ptr<classifier> make_classifier_avx2();

// SPDX-License-Identifier: Apache-2.0
// The network and its classifier on the simd backend for one instruction set `Arch`. Included by
// each classifier_<isa>.cpp, which is compiled with that instruction set's flags.
#pragma once

#include "classifier.hpp"

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

inline constexpr auto net = lmnet::models::l_mobilenet({.classes = 10, .channels = 1});

template <class Arch>
class classifier_on final : public classifier {
 public:
  classifier_on() { model_.load(lmnet::random_weights{42}); }  // or a safetensors file
  std::span<const float> infer(std::span<const float> image) override {
    return model_.infer(image);
  }
  const char* instruction_set() const override { return Arch::name(); }

 private:
  lmnet::model<net, lmnet::backend::simd<Arch>> model_;
};

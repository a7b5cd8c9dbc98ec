// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/cascade/scores.hpp>

#include <cmath>
#include <concepts>
#include <cstdint>
#include <span>

namespace lmnet {

/// What a cascade or a cache needs of a model: one input in (floats), its logits out. Any backend
/// and any network fits (`lmnet::model` does), so does a cascade, and so does user code wrapping
/// another runtime. The returned view may be invalidated by the next call.
template <class M>
concept Classifier = requires(M& m, std::span<const float> input) {
  { m.infer(input) } -> std::convertible_to<std::span<const float>>;
};

/// A classifier that also runs `batch` inputs stored one after another, giving their logits one
/// after another, for up to `max_batch()` inputs at a time.
template <class M>
concept BatchClassifier = Classifier<M> &&
    requires(M& m, const M& cm, std::span<const float> inputs, int batch) {
  { m.infer(inputs, batch) } -> std::convertible_to<std::span<const float>>;
  { cm.max_batch() } -> std::convertible_to<int>;
};

/// A classifier's answer: the class, and its softmax probability.
struct prediction {
  std::int32_t label = -1;
  float probability = 0.0f;

  friend bool operator==(const prediction&, const prediction&) = default;
};

/// The answer given by a vector of logits: argmax and its softmax probability.
inline prediction predict_from_logits(std::span<const float> logits) {
  const int label = argmax(logits);
  double sum = 0.0;
  for (float l : logits) sum += std::exp(static_cast<double>(l) - logits[label]);
  return {label, static_cast<float>(1.0 / sum)};
}

}  // namespace lmnet

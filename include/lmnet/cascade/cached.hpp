// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/cascade/cache.hpp>
#include <lmnet/cascade/classifier.hpp>
#include <lmnet/core/error.hpp>

#include <concepts>
#include <optional>
#include <span>
#include <string>
#include <utility>

namespace lmnet {

struct cached_options {
  /// Answers less sure than this (their softmax probability) are not remembered: the models may
  /// well answer a moved or noisy copy of an image they were unsure of otherwise. 0 remembers all.
  float min_probability = 0.0f;
};

/// A classifier (a model or a cascade) behind a result cache: an input whose key is already in
/// the cache is answered from it and runs no network; any other runs the classifier and its answer
/// is remembered.
///
/// The key comes from whatever the caller says identifies the input, given explicitly, since that
/// is often not what the network sees: the dual-CNN paper hashes the raw 8-bit image, not the
/// normalised tensor.
///
///     lmnet::result_cache<lmnet::prediction, lmnet::perceptual_key> memory(
///         {.capacity = 10000, .radius = 6, .max_thumbnail_distance = 6});
///     lmnet::centred_key_of key_of{28, 28, 1, {.dead_zone = 4}};
///     lmnet::cached classifier(dual, memory, key_of, {.min_probability = 0.93f});
///     lmnet::prediction p = classifier.classify(normalised_input, raw_image);
///
/// or, when the key is a function of the network's input itself, `classify(input)`. Several
/// `cached` (one per thread, each with its own models) may share one cache, which is thread-safe.
template <Classifier Inner, CacheKey Key, class KeyOf>
class cached {
 public:
  cached(Inner& inner, result_cache<prediction, Key>& cache, KeyOf key_of = {},
         cached_options options = {})
      : inner_(&inner), cache_(&cache), key_of_(std::move(key_of)), options_(options) {
    if (!(options.min_probability >= 0.0f && options.min_probability <= 1.0f)) {
      throw error("cached: min_probability " + std::to_string(options.min_probability) +
                  " outside 0..1");
    }
  }

  /// Classifies `input`, keyed by `key_of(key_input)`.
  template <class KeyInput>
  requires std::invocable<const KeyOf&, const KeyInput&> prediction
  classify(std::span<const float> input, const KeyInput& key_input) {
    return classify_keyed(input, key_of_(key_input));
  }

  /// Classifies `input`, keyed by `key_of(input)`.
  prediction classify(
      std::span<const float> input) requires std::invocable<const KeyOf&, std::span<const float>> {
    return classify_keyed(input, key_of_(input));
  }

  /// Classifies `input` under a key the caller computed.
  prediction classify_keyed(std::span<const float> input, const Key& key) {
    if (const std::optional<prediction> hit = cache_->find(key)) {
      last_hit_ = true;
      return *hit;
    }
    last_hit_ = false;
    prediction answer;
    if constexpr (requires { inner_->classify(input); }) {
      answer = inner_->classify(input);
    } else {
      answer = predict_from_logits(inner_->infer(input));
    }
    if (answer.probability >= options_.min_probability) cache_->insert(key, answer);
    return answer;
  }

  /// Whether the last call was answered by the cache.
  bool last_hit() const { return last_hit_; }
  Inner& inner() { return *inner_; }
  result_cache<prediction, Key>& cache() { return *cache_; }

 private:
  Inner* inner_;
  result_cache<prediction, Key>* cache_;
  KeyOf key_of_;
  cached_options options_;
  bool last_hit_ = false;
};

/// Without a key function, an exact cache keys inputs by the bytes they are given.
template <class Inner>
cached(Inner&, result_cache<prediction, exact_key>&) -> cached<Inner, exact_key, exact_key_of>;

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/cascade/classifier.hpp>
#include <lmnet/cascade/deferral.hpp>
#include <lmnet/cascade/scores.hpp>
#include <lmnet/core/error.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

struct cascade_options {
  /// When the second model ran, keep its answer only if it is more confident than the first's
  /// (by the rule's `confidence`); otherwise keep the first's. Off: the second model's answer wins.
  bool post_check = false;
};

/// How often each stage ran since construction or `reset_stats()`.
struct cascade_stats {
  std::uint64_t images = 0;       // inputs classified
  std::uint64_t second_runs = 0;  // inputs the second model ran on
  std::uint64_t second_kept = 0;  // answers taken from the second model

  double second_rate() const {
    return images == 0 ? 0.0 : static_cast<double>(second_runs) / static_cast<double>(images);
  }
};

/// Two classifiers, the second run only when the first is unsure, as in Big/Little networks and
/// the dual complementary CNNs:
///
///     lmnet::model<small_net> first;  lmnet::model<other_net> second;   // any two Classifiers
///     lmnet::cascade dual(first, second, lmnet::threshold_rule{lmnet::score::margin, 0.87f},
///                         {.post_check = true});
///     std::span<const float> logits = dual.infer(image);   // logits of the answer kept
///     double rate = dual.stats().second_rate();
///
/// A cascade is itself a Classifier (and a BatchClassifier when both models are), so it nests and
/// a result cache can wrap it. It holds references: both models must outlive it. Buffers grow on
/// first use (and when a larger batch comes), never otherwise. Not thread-safe, like the models.
template <Classifier First, Classifier Second, DeferralRule Rule = threshold_rule>
class cascade {
 public:
  cascade(First& first, Second& second, Rule rule = {}, cascade_options options = {})
      : first_(&first), second_(&second), rule_(std::move(rule)), options_(options) {}

  /// Classifies one input; returns the logits of the answer kept, valid until the next call.
  std::span<const float> infer(std::span<const float> input) {
    const std::span<const float> first_logits = first_->infer(input);
    const std::size_t classes = first_logits.size();
    reserve(1, classes, 0);
    std::copy(first_logits.begin(), first_logits.end(), logits_.begin());
    softmax_probabilities(first_logits, std::span<float>(first_probabilities_).first(classes));
    ++stats_.images;
    last_deferred_ = rule_.defer(std::span<const float>(first_probabilities_).first(classes));
    if (last_deferred_) {
      const float first_confidence =
          options_.post_check
              ? rule_.confidence(std::span<const float>(first_probabilities_).first(classes))
              : 0.0f;
      settle(0, first_confidence, second_->infer(input), classes);
    }
    return std::span<const float>(logits_).first(classes);
  }

  /// Classifies `batch` inputs stored one after another and returns their logits one after
  /// another. The second model runs once per chunk of up to its max_batch() deferred inputs,
  /// gathered together, and never on the others.
  std::span<const float> infer(std::span<const float> inputs, int batch) requires
      BatchClassifier<First> && BatchClassifier<Second> {
    if (batch < 1 || inputs.size() % static_cast<std::size_t>(batch) != 0) {
      throw error("cascade: " + std::to_string(inputs.size()) + " input values do not split into " +
                  std::to_string(batch) + " inputs");
    }
    const std::size_t input_size = inputs.size() / static_cast<std::size_t>(batch);
    const std::span<const float> first_logits = first_->infer(inputs, batch);
    if (first_logits.size() % static_cast<std::size_t>(batch) != 0) {
      throw error("cascade: the first model gave " + std::to_string(first_logits.size()) +
                  " logits for " + std::to_string(batch) + " inputs");
    }
    const std::size_t classes = first_logits.size() / static_cast<std::size_t>(batch);
    reserve(static_cast<std::size_t>(batch), classes, input_size);
    std::copy(first_logits.begin(), first_logits.end(), logits_.begin());
    stats_.images += static_cast<std::uint64_t>(batch);

    std::size_t deferred = 0;
    const std::span<float> probabilities = std::span<float>(first_probabilities_).first(classes);
    for (std::size_t n = 0; n < static_cast<std::size_t>(batch); ++n) {
      softmax_probabilities(first_logits.subspan(n * classes, classes), probabilities);
      if (rule_.defer(probabilities)) {
        deferred_[deferred] = n;
        first_confidence_[deferred] = options_.post_check ? rule_.confidence(probabilities) : 0.0f;
        ++deferred;
      }
    }
    const auto chunk = static_cast<std::size_t>(std::max(1, second_->max_batch()));
    for (std::size_t begin = 0; begin < deferred; begin += chunk) {
      const std::size_t count = std::min(chunk, deferred - begin);
      for (std::size_t j = 0; j < count; ++j) {
        const std::span<const float> image =
            inputs.subspan(deferred_[begin + j] * input_size, input_size);
        std::copy(image.begin(), image.end(),
                  gathered_.begin() + static_cast<std::ptrdiff_t>(j * input_size));
      }
      const std::span<const float> second_logits = second_->infer(
          std::span<const float>(gathered_).first(count * input_size), static_cast<int>(count));
      if (second_logits.size() != count * classes) {
        throw error("cascade: the second model gave " + std::to_string(second_logits.size()) +
                    " logits for " + std::to_string(count) + " inputs, expected " +
                    std::to_string(classes) + " each like the first");
      }
      for (std::size_t j = 0; j < count; ++j) {
        settle(deferred_[begin + j], first_confidence_[begin + j],
               second_logits.subspan(j * classes, classes), classes);
      }
    }
    return std::span<const float>(logits_).first(static_cast<std::size_t>(batch) * classes);
  }

  /// The answer kept for one input: its class and softmax probability.
  prediction classify(std::span<const float> input) { return predict_from_logits(infer(input)); }

  int max_batch() const requires BatchClassifier<First> && BatchClassifier<Second> {
    return first_->max_batch();
  }

  /// Whether the last single-input `infer` ran the second model.
  bool last_deferred() const { return last_deferred_; }
  const cascade_stats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }
  const Rule& rule() const { return rule_; }
  void set_rule(Rule rule) { rule_ = std::move(rule); }
  const cascade_options& options() const { return options_; }

 private:
  void reserve(std::size_t batch, std::size_t classes, std::size_t input_size) {
    if (classes == 0) throw error("cascade: the first model gave no logits");
    if (logits_.size() < batch * classes) logits_.resize(batch * classes);
    if (first_probabilities_.size() < classes) {
      first_probabilities_.resize(classes);
      second_probabilities_.resize(classes);
    }
    if (deferred_.size() < batch) {
      deferred_.resize(batch);
      first_confidence_.resize(batch);
    }
    if (gathered_.size() < batch * input_size) gathered_.resize(batch * input_size);
  }

  /// The second model ran on input `n`: keep its answer unless the post-check prefers the first.
  void settle(std::size_t n, float first_confidence, std::span<const float> second_logits,
              std::size_t classes) {
    ++stats_.second_runs;
    if (second_logits.size() != classes) {
      throw error("cascade: the second model gave " + std::to_string(second_logits.size()) +
                  " logits, the first " + std::to_string(classes));
    }
    if (options_.post_check) {
      const std::span<float> probabilities = std::span<float>(second_probabilities_).first(classes);
      softmax_probabilities(second_logits, probabilities);
      if (!(rule_.confidence(probabilities) > first_confidence)) return;
    }
    ++stats_.second_kept;
    std::copy(second_logits.begin(), second_logits.end(),
              logits_.begin() + static_cast<std::ptrdiff_t>(n * classes));
  }

  First* first_;
  Second* second_;
  Rule rule_;
  cascade_options options_;
  cascade_stats stats_;
  bool last_deferred_ = false;
  std::vector<float> logits_, first_probabilities_, second_probabilities_, first_confidence_,
      gathered_;
  std::vector<std::size_t> deferred_;
};

}  // namespace lmnet

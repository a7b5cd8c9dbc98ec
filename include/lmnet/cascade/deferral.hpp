// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/cascade/scores.hpp>
#include <lmnet/core/error.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace lmnet {

/// When a cascade asks its second model. `defer` sees the first model's softmax probabilities;
/// `confidence` (higher is surer) is what the post-check compares between the two models.
template <class R>
concept DeferralRule = requires(const R& rule, std::span<const float> probabilities) {
  { rule.defer(probabilities) } -> std::convertible_to<bool>;
  { rule.confidence(probabilities) } -> std::convertible_to<float>;
};

/// A deferral rule made of a score and a threshold, which calibration can sweep: `score_of`
/// computes the score once per image, `defers` compares it with the threshold, and
/// `with_threshold` gives the same rule with another threshold.
template <class R>
concept ThresholdRule = DeferralRule<R> &&
    requires(const R& rule, std::span<const float> probabilities, float value) {
  { rule.score_of(probabilities) } -> std::convertible_to<float>;
  { rule.defers(value) } -> std::convertible_to<bool>;
  { rule.with_threshold(value) } -> std::same_as<R>;
};

/// The paper's rule: defer when the first model's score says it is unsure, that is when max
/// probability or margin is below the threshold, or normalised entropy above it. A score that is
/// NaN (non-finite logits) always defers.
struct threshold_rule {
  score kind = score::max_probability;
  float threshold = 0.5f;

  float score_of(std::span<const float> probabilities) const {
    return score_value(kind, probabilities);
  }
  bool defers(float value) const {
    return higher_is_surer(kind) ? !(value >= threshold) : !(value <= threshold);
  }
  bool defer(std::span<const float> probabilities) const { return defers(score_of(probabilities)); }
  float confidence(std::span<const float> probabilities) const {
    return lmnet::confidence(kind, probabilities);
  }
  threshold_rule with_threshold(float value) const { return {kind, value}; }
};

/// A deferral rule learned on a validation split, for second models that are specialists, where
/// the first model's confidence says little about whether asking the second one helps (Jitkrittum
/// et al., NeurIPS 2023). Two logistic regressions over the first model's probabilities (the
/// largest ones sorted, and optionally all of them in class order, which lets the rule learn which
/// classes the second model is better at) estimate P(fix): the second model is right where the
/// first is wrong, and P(break): the reverse. The rule's score is (1 + P(fix) - P(break)) / 2 in
/// [0, 1], and it defers when the score is above the threshold.
///
/// Fitted by `fit_learned_rule` (calibration.hpp); saved and loaded as text (`to_string`,
/// `parse`). Its `confidence`, for the post-check, is the max probability.
class learned_rule {
 public:
  /// Sorted probabilities used as features: the largest `max_sorted` (all when fewer classes).
  static constexpr int max_sorted = 16;

  learned_rule() = default;

  /// `fix` and `breaks` hold `feature_count(classes, per_class)` weights then the bias.
  learned_rule(int classes, bool per_class, std::vector<float> fix, std::vector<float> breaks,
               float threshold = 0.5f)
      : classes_(classes),
        per_class_(per_class),
        threshold_(threshold),
        fix_(std::move(fix)),
        break_(std::move(breaks)) {
    if (classes < 2)
      throw error("learned_rule: needs at least 2 classes, got " + std::to_string(classes));
    const std::size_t expected = feature_count(classes, per_class) + 1;
    for (const auto* w : {&fix_, &break_}) {
      if (w->size() != expected) {
        throw error("learned_rule: " + std::to_string(w->size()) + " weights, expected " +
                    std::to_string(expected) + " for " + std::to_string(classes) + " classes");
      }
      for (float v : *w) {
        if (!std::isfinite(v)) throw error("learned_rule: non-finite weight");
      }
    }
  }

  static constexpr std::size_t feature_count(int classes, bool per_class) {
    return static_cast<std::size_t>(std::min(classes, max_sorted) + (per_class ? classes : 0));
  }

  /// The features of one probability vector, written to `out` (feature_count values).
  static void features(std::span<const float> probabilities, bool per_class, std::span<float> out) {
    const int classes = static_cast<int>(probabilities.size());
    const int sorted = std::min(classes, max_sorted);
    if (out.size() != feature_count(classes, per_class)) {
      throw error("learned_rule: feature buffer of " + std::to_string(out.size()) + ", expected " +
                  std::to_string(feature_count(classes, per_class)));
    }
    const std::array<float, max_sorted> top = largest(probabilities, sorted);
    std::copy_n(top.begin(), sorted, out.begin());
    if (per_class) std::copy(probabilities.begin(), probabilities.end(), out.begin() + sorted);
  }

  float score_of(std::span<const float> probabilities) const {
    if (static_cast<int>(probabilities.size()) != classes_) {
      throw error("learned_rule: fitted for " + std::to_string(classes_) + " classes, got " +
                  std::to_string(probabilities.size()) + " probabilities");
    }
    // The same features as `features`, without a buffer.
    const int sorted = std::min(classes_, max_sorted);
    const std::array<float, max_sorted> top = largest(probabilities, sorted);
    double fix = fix_.back(), brk = break_.back();
    for (int i = 0; i < sorted; ++i) {
      fix +=
          static_cast<double>(fix_[static_cast<std::size_t>(i)]) * top[static_cast<std::size_t>(i)];
      brk += static_cast<double>(break_[static_cast<std::size_t>(i)]) *
             top[static_cast<std::size_t>(i)];
    }
    if (per_class_) {
      for (int c = 0; c < classes_; ++c) {
        const auto w = static_cast<std::size_t>(sorted + c);
        fix += static_cast<double>(fix_[w]) * probabilities[static_cast<std::size_t>(c)];
        brk += static_cast<double>(break_[w]) * probabilities[static_cast<std::size_t>(c)];
      }
    }
    const double p_fix = 1.0 / (1.0 + std::exp(-fix)), p_break = 1.0 / (1.0 + std::exp(-brk));
    return static_cast<float>(0.5 * (1.0 + p_fix - p_break));
  }
  bool defers(float value) const { return !(value <= threshold_); }
  bool defer(std::span<const float> probabilities) const { return defers(score_of(probabilities)); }
  float confidence(std::span<const float> probabilities) const {
    return max_probability(probabilities);
  }
  learned_rule with_threshold(float value) const {
    learned_rule r = *this;
    r.threshold_ = value;
    return r;
  }

  int classes() const { return classes_; }
  bool per_class() const { return per_class_; }
  float threshold() const { return threshold_; }
  std::span<const float> fix_weights() const { return fix_; }
  std::span<const float> break_weights() const { return break_; }

  /// A few lines of text that `parse` reads back exactly.
  std::string to_string() const {
    std::ostringstream out;
    out.precision(9);
    out << "lmnet-learned-rule 1\nclasses " << classes_ << "\nper_class " << per_class_
        << "\nthreshold " << threshold_ << "\nfix";
    for (float w : fix_) out << ' ' << w;
    out << "\nbreak";
    for (float w : break_) out << ' ' << w;
    out << '\n';
    return out.str();
  }

  static learned_rule parse(const std::string& text) {
    std::istringstream in(text);
    std::string word;
    int version = 0, classes = 0, per_class = 0;
    float threshold = 0.0f;
    auto expect = [&](const char* key) {
      if (!(in >> word) || word != key) {
        throw error(std::string("learned_rule text: expected '") + key + "', got '" + word + "'");
      }
    };
    expect("lmnet-learned-rule");
    if (!(in >> version) || version != 1) throw error("learned_rule text: unsupported version");
    expect("classes");
    if (!(in >> classes) || classes < 2 || classes > 1 << 20) {
      throw error("learned_rule text: bad class count");
    }
    expect("per_class");
    if (!(in >> per_class) || (per_class != 0 && per_class != 1)) {
      throw error("learned_rule text: per_class must be 0 or 1");
    }
    expect("threshold");
    if (!(in >> threshold)) throw error("learned_rule text: bad threshold");
    const std::size_t count = feature_count(classes, per_class != 0) + 1;
    auto weights = [&](const char* key) {
      expect(key);
      std::vector<float> w(count);
      for (float& v : w) {
        if (!(in >> v)) {
          throw error(std::string("learned_rule text: '") + key + "' needs " +
                      std::to_string(count) + " weights");
        }
      }
      return w;
    };
    std::vector<float> fix = weights("fix");
    std::vector<float> brk = weights("break");
    return learned_rule(classes, per_class != 0, std::move(fix), std::move(brk), threshold);
  }

 private:
  /// The `count` largest values, in descending order, by insertion (count <= max_sorted).
  static std::array<float, max_sorted> largest(std::span<const float> values, int count) {
    std::array<float, max_sorted> top{};
    top.fill(-1.0f);
    for (float v : values) {
      int i = count - 1;
      if (!(v > top[static_cast<std::size_t>(i)])) continue;
      for (; i > 0 && v > top[static_cast<std::size_t>(i - 1)]; --i) {
        top[static_cast<std::size_t>(i)] = top[static_cast<std::size_t>(i - 1)];
      }
      top[static_cast<std::size_t>(i)] = v;
    }
    return top;
  }

  int classes_ = 0;
  bool per_class_ = true;
  float threshold_ = 0.5f;
  std::vector<float> fix_, break_;
};

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace lmnet {

/// How sure a classifier is of its answer, computed on its softmax probabilities:
/// - `max_probability`: the largest probability;
/// - `margin`: the largest minus the second largest probability;
/// - `entropy`: -sum p log p divided by log(classes), so 0 is certain and 1 is uniform whatever
///   the number of classes (calibration and run time both use this normalisation).
/// The first two grow with confidence, entropy shrinks; `confidence()` orients all three.
enum class score { max_probability, margin, entropy };

inline constexpr score all_scores[] = {score::max_probability, score::margin, score::entropy};

/// "maxp", "margin", "entropy".
constexpr std::string_view score_name(score s) {
  switch (s) {
    case score::max_probability:
      return "maxp";
    case score::margin:
      return "margin";
    case score::entropy:
      return "entropy";
  }
  return "?";
}

/// The score named `text` ("maxp", "margin", "entropy").
inline score parse_score(std::string_view text) {
  for (score s : all_scores) {
    if (score_name(s) == text) return s;
  }
  throw error("unknown confidence score '" + std::string(text) +
              "', expected maxp, margin or entropy");
}

namespace detail {
inline void check_probabilities(std::span<const float> probabilities) {
  if (probabilities.empty()) throw error("confidence score of an empty probability vector");
}
}  // namespace detail

/// softmax(logits), written to `probabilities` (same size). Subtracts the largest logit first, so
/// it neither overflows nor underflows for any finite logits.
inline void softmax_probabilities(std::span<const float> logits, std::span<float> probabilities) {
  if (logits.empty() || logits.size() != probabilities.size()) {
    throw error("softmax of " + std::to_string(logits.size()) + " logits into " +
                std::to_string(probabilities.size()) + " probabilities");
  }
  const float top = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (std::size_t i = 0; i < logits.size(); ++i) {
    probabilities[i] = std::exp(logits[i] - top);
    sum += probabilities[i];
  }
  const float scale = static_cast<float>(1.0 / sum);
  for (float& p : probabilities) p *= scale;
}

inline float max_probability(std::span<const float> probabilities) {
  detail::check_probabilities(probabilities);
  return *std::max_element(probabilities.begin(), probabilities.end());
}

/// Top-1 minus top-2 probability; 1 for a single class.
inline float margin(std::span<const float> probabilities) {
  detail::check_probabilities(probabilities);
  float first = probabilities[0], second = 0.0f;
  for (std::size_t i = 1; i < probabilities.size(); ++i) {
    const float p = probabilities[i];
    if (p > first) {
      second = first;
      first = p;
    } else if (p > second) {
      second = p;
    }
  }
  return probabilities.size() == 1 ? 1.0f : first - second;
}

/// Entropy divided by log(classes), in [0, 1]; 0 for a single class.
inline float normalized_entropy(std::span<const float> probabilities) {
  detail::check_probabilities(probabilities);
  if (probabilities.size() == 1) return 0.0f;
  double entropy = 0.0;
  for (float p : probabilities) {
    if (std::isnan(p)) return p;  // unknown, not certain
    if (p > 0.0f) entropy -= static_cast<double>(p) * std::log(static_cast<double>(p));
  }
  return static_cast<float>(entropy / std::log(static_cast<double>(probabilities.size())));
}

/// The score's value, in the paper's orientation (entropy: higher is less sure).
inline float score_value(score s, std::span<const float> probabilities) {
  switch (s) {
    case score::max_probability:
      return max_probability(probabilities);
    case score::margin:
      return margin(probabilities);
    case score::entropy:
      return normalized_entropy(probabilities);
  }
  return 0.0f;
}

/// True for the scores that grow with confidence (all but entropy).
constexpr bool higher_is_surer(score s) {
  return s != score::entropy;
}

/// The score oriented so that higher is surer: the value itself, or 1 - normalised entropy.
inline float confidence(score s, std::span<const float> probabilities) {
  const float value = score_value(s, probabilities);
  return higher_is_surer(s) ? value : 1.0f - value;
}

/// Index of the largest value (the first of equal ones), as argmax over logits or probabilities.
inline int argmax(std::span<const float> values) {
  if (values.empty()) throw error("argmax of an empty vector");
  return static_cast<int>(std::max_element(values.begin(), values.end()) - values.begin());
}

}  // namespace lmnet

// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <lmnet/cascade/deferral.hpp>
#include <lmnet/cascade/scores.hpp>
#include <lmnet/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

namespace lmnet {

/// `points` thresholds evenly spaced from 0 to 1, both included (the dual-CNN paper's grid is
/// 2000 points).
inline std::vector<float> threshold_grid(int points = 2000) {
  if (points < 2)
    throw error("threshold grid needs at least 2 points, got " + std::to_string(points));
  std::vector<float> grid(static_cast<std::size_t>(points));
  for (int i = 0; i < points; ++i) {
    grid[static_cast<std::size_t>(i)] = static_cast<float>(static_cast<double>(i) / (points - 1));
  }
  return grid;
}

namespace detail {
inline void check_rows(std::span<const float> logits, std::size_t rows, int classes,
                       const char* what) {
  if (classes < 2 || logits.size() != rows * static_cast<std::size_t>(classes)) {
    throw error(std::string(what) + ": " + std::to_string(logits.size()) + " logits, expected " +
                std::to_string(rows) + " inputs x " + std::to_string(classes) + " classes");
  }
}
}  // namespace detail

/// What calibration needs of each validation input under a given rule: the true label, both
/// models' answers, the first model's deferral score, and both models' confidences (for the
/// post-check). Computed once; a threshold sweep then only compares numbers.
struct pair_outcomes {
  std::vector<int> labels, first, second;
  std::vector<float> first_score, first_confidence, second_confidence;

  std::size_t size() const { return labels.size(); }

  /// From both models' logits (`labels.size()` rows of `classes`), through the same softmax and
  /// scores as the cascade computes at run time.
  template <ThresholdRule Rule>
  static pair_outcomes of(const Rule& rule, std::span<const float> first_logits,
                          std::span<const float> second_logits, std::span<const int> labels,
                          int classes) {
    detail::check_rows(first_logits, labels.size(), classes, "pair_outcomes: first model");
    detail::check_rows(second_logits, labels.size(), classes, "pair_outcomes: second model");
    const auto k = static_cast<std::size_t>(classes);
    pair_outcomes o;
    o.labels.assign(labels.begin(), labels.end());
    std::vector<float> p(k), q(k);
    for (std::size_t i = 0; i < labels.size(); ++i) {
      softmax_probabilities(first_logits.subspan(i * k, k), p);
      softmax_probabilities(second_logits.subspan(i * k, k), q);
      o.first.push_back(argmax(p));
      o.second.push_back(argmax(q));
      o.first_score.push_back(rule.score_of(p));
      o.first_confidence.push_back(rule.confidence(p));
      o.second_confidence.push_back(rule.confidence(q));
    }
    return o;
  }
};

/// A cascade's accuracy and second-model rate on the calibration data at one threshold.
struct threshold_choice {
  float threshold = 0.0f;
  double accuracy = 0.0;
  double second_rate = 0.0;
};

/// The cascade's answers under `rule` (its threshold included), as the cascade gives them.
template <ThresholdRule Rule>
threshold_choice evaluate_threshold(const Rule& rule, const pair_outcomes& o, bool post_check) {
  std::size_t correct = 0, deferred = 0;
  for (std::size_t i = 0; i < o.size(); ++i) {
    int answer = o.first[i];
    if (rule.defers(o.first_score[i])) {
      ++deferred;
      if (!post_check || o.second_confidence[i] > o.first_confidence[i]) answer = o.second[i];
    }
    correct += answer == o.labels[i];
  }
  const double n = static_cast<double>(std::max<std::size_t>(o.size(), 1));
  return {0.0f, static_cast<double>(correct) / n, static_cast<double>(deferred) / n};
}

/// Accuracy and second-model rate at every threshold of the grid.
template <ThresholdRule Rule>
std::vector<threshold_choice> sweep_thresholds(const Rule& rule, const pair_outcomes& o,
                                               bool post_check, int points = 2000) {
  std::vector<threshold_choice> sweep;
  for (float t : threshold_grid(points)) {
    threshold_choice c = evaluate_threshold(rule.with_threshold(t), o, post_check);
    c.threshold = t;
    sweep.push_back(c);
  }
  return sweep;
}

struct calibration_options {
  int points = 2000;
  /// Accept thresholds whose accuracy is within this of the best (a fraction, 0.001 = 0.1
  /// points) and among them take the one that runs the second model least. 0: the paper's
  /// lambda* = argmax accuracy, ties going to the cheapest threshold.
  double tolerance = 0.0;
};

/// lambda*: the threshold of the grid with the best accuracy on the calibration data (never the
/// test set), ties (or, with a tolerance, near-ties) broken towards fewer second-model runs.
template <ThresholdRule Rule>
threshold_choice calibrate_threshold(const Rule& rule, const pair_outcomes& o, bool post_check,
                                     calibration_options options = {}) {
  if (o.size() == 0) throw error("calibrate_threshold: no calibration data");
  const std::vector<threshold_choice> sweep = sweep_thresholds(rule, o, post_check, options.points);
  double best = 0.0;
  for (const threshold_choice& c : sweep) best = std::max(best, c.accuracy);
  const double floor = best - options.tolerance - 0.5 / static_cast<double>(o.size());
  const threshold_choice* chosen = nullptr;
  for (const threshold_choice& c : sweep) {
    if (c.accuracy < floor) continue;
    if (chosen == nullptr || c.second_rate < chosen->second_rate ||
        (c.second_rate == chosen->second_rate && c.accuracy > chosen->accuracy)) {
      chosen = &c;
    }
  }
  return *chosen;
}

/// How well two models complement each other on labelled data (n(.) counts correct answers).
struct complementarity_scores {
  /// The dual-CNN paper's formula, (n(a or b) - n(a and b) - |n(a) - n(b)|) / N: inputs exactly
  /// one model gets right, less the accuracy gap (2 min(|a \ b|, |b \ a|) / N).
  double paper = 0.0;
  /// The paper's code: (n(a or b) - n(a and b)) / N, inputs exactly one model gets right.
  double code = 0.0;
};

inline complementarity_scores complementarity(std::span<const int> labels, std::span<const int> a,
                                              std::span<const int> b) {
  if (a.size() != labels.size() || b.size() != labels.size() || labels.empty()) {
    throw error("complementarity: " + std::to_string(a.size()) + " and " +
                std::to_string(b.size()) + " answers for " + std::to_string(labels.size()) +
                " labels");
  }
  long either = 0, both = 0, right_a = 0, right_b = 0;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const bool ra = a[i] == labels[i], rb = b[i] == labels[i];
    either += ra || rb;
    both += ra && rb;
    right_a += ra;
    right_b += rb;
  }
  const double n = static_cast<double>(labels.size());
  return {static_cast<double>(either - both - std::labs(right_a - right_b)) / n,
          static_cast<double>(either - both) / n};
}

struct logistic_options {
  double l2 = 1e-4;  // ridge penalty on the weights (not the bias), per input
  int iterations = 100;
};

/// Logistic regression by Newton's method: `rows` holds N rows of `features` values, `targets`
/// N zeros and ones. Returns the weights, then the bias, minimising the mean log loss plus
/// l2/2 |w|^2.
inline std::vector<double> fit_logistic(std::span<const float> rows, std::size_t features,
                                        std::span<const std::uint8_t> targets,
                                        logistic_options options = {}) {
  const std::size_t n = targets.size(), d = features + 1;
  if (n == 0 || rows.size() != n * features) {
    throw error("fit_logistic: " + std::to_string(rows.size()) + " values for " +
                std::to_string(n) + " rows of " + std::to_string(features) + " features");
  }
  std::vector<double> w(d, 0.0), gradient(d), hessian(d * d), x(d);
  for (int iteration = 0; iteration < options.iterations; ++iteration) {
    std::fill(gradient.begin(), gradient.end(), 0.0);
    std::fill(hessian.begin(), hessian.end(), 0.0);
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = 0; j < features; ++j) x[j] = rows[i * features + j];
      x[features] = 1.0;
      double z = 0.0;
      for (std::size_t j = 0; j < d; ++j) z += w[j] * x[j];
      const double p = 1.0 / (1.0 + std::exp(-z)), s = std::max(p * (1.0 - p), 1e-12);
      const double residual = p - (targets[i] != 0 ? 1.0 : 0.0);
      for (std::size_t j = 0; j < d; ++j) {
        gradient[j] += residual * x[j];
        for (std::size_t k = 0; k <= j; ++k) hessian[j * d + k] += s * x[j] * x[k];
      }
    }
    for (std::size_t j = 0; j < d; ++j) {
      gradient[j] /= static_cast<double>(n);
      for (std::size_t k = 0; k <= j; ++k) hessian[j * d + k] /= static_cast<double>(n);
      const double penalty = j < features ? options.l2 : 1e-9;
      gradient[j] += j < features ? options.l2 * w[j] : 0.0;
      hessian[j * d + j] += penalty;
    }
    // Solve hessian * step = gradient by Cholesky (the lower triangle holds the matrix).
    for (std::size_t j = 0; j < d; ++j) {
      double diagonal = hessian[j * d + j];
      for (std::size_t k = 0; k < j; ++k) diagonal -= hessian[j * d + k] * hessian[j * d + k];
      if (!(diagonal > 0.0)) throw error("fit_logistic: the problem is singular");
      hessian[j * d + j] = std::sqrt(diagonal);
      for (std::size_t i = j + 1; i < d; ++i) {
        double v = hessian[i * d + j];
        for (std::size_t k = 0; k < j; ++k) v -= hessian[i * d + k] * hessian[j * d + k];
        hessian[i * d + j] = v / hessian[j * d + j];
      }
    }
    std::vector<double> step = gradient;
    for (std::size_t i = 0; i < d; ++i) {
      for (std::size_t k = 0; k < i; ++k) step[i] -= hessian[i * d + k] * step[k];
      step[i] /= hessian[i * d + i];
    }
    for (std::size_t i = d; i-- > 0;) {
      for (std::size_t k = i + 1; k < d; ++k) step[i] -= hessian[k * d + i] * step[k];
      step[i] /= hessian[i * d + i];
    }
    double largest = 0.0;
    for (std::size_t j = 0; j < d; ++j) {
      w[j] -= step[j];
      largest = std::max(largest, std::abs(step[j]));
    }
    if (largest < 1e-9) break;
  }
  return w;
}

struct learned_rule_options {
  bool per_class = true;  // all probabilities in class order as features, beside the sorted ones
  double l2 = 1e-4;
};

/// Fits a `learned_rule` on validation data: the first model's logits, the second model's
/// answers and the labels. Its threshold is left at 0.5; calibrate it like any other rule
/// (`pair_outcomes::of` then `calibrate_threshold`).
inline learned_rule fit_learned_rule(std::span<const float> first_logits,
                                     std::span<const int> second_answers,
                                     std::span<const int> labels, int classes,
                                     learned_rule_options options = {}) {
  detail::check_rows(first_logits, labels.size(), classes, "fit_learned_rule: first model");
  if (second_answers.size() != labels.size()) {
    throw error("fit_learned_rule: " + std::to_string(second_answers.size()) +
                " second-model answers for " + std::to_string(labels.size()) + " labels");
  }
  const auto k = static_cast<std::size_t>(classes);
  const std::size_t f = learned_rule::feature_count(classes, options.per_class);
  std::vector<float> rows(labels.size() * f), p(k);
  std::vector<std::uint8_t> fixes(labels.size()), breaks(labels.size());
  for (std::size_t i = 0; i < labels.size(); ++i) {
    softmax_probabilities(first_logits.subspan(i * k, k), p);
    learned_rule::features(p, options.per_class, std::span<float>(rows).subspan(i * f, f));
    const bool first_right = argmax(p) == labels[i], second_right = second_answers[i] == labels[i];
    fixes[i] = !first_right && second_right;
    breaks[i] = first_right && !second_right;
  }
  auto to_float = [](const std::vector<double>& w) {
    return std::vector<float>(w.begin(), w.end());
  };
  const logistic_options fit{.l2 = options.l2};
  return learned_rule(classes, options.per_class, to_float(fit_logistic(rows, f, fixes, fit)),
                      to_float(fit_logistic(rows, f, breaks, fit)));
}

}  // namespace lmnet

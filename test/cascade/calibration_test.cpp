// SPDX-License-Identifier: Apache-2.0
// Threshold calibration, complementarity and the logistic fit against hand-computed answers.
#include <lmnet/cascade/calibration.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <vector>

using namespace lmnet;

TEST_CASE("the threshold grid is the paper's linspace(0, 1, 2000)") {
  const std::vector<float> grid = threshold_grid();
  REQUIRE(grid.size() == 2000);
  CHECK(grid.front() == 0.0f);
  CHECK(grid.back() == 1.0f);
  CHECK(grid[1] == doctest::Approx(1.0 / 1999));
  CHECK_THROWS_AS(threshold_grid(1), lmnet::error);
}

namespace {
// Five validation inputs; the first model's max probability and who is right, by hand:
//   input  first score  first right  second right  second surer
//   0      0.95         yes          yes           no
//   1      0.80         no           yes           yes
//   2      0.70         yes          no            no
//   3      0.60         no           yes           no
//   4      0.30         no           no            yes
pair_outcomes crafted() {
  pair_outcomes o;
  o.labels = {0, 0, 0, 0, 0};
  o.first = {0, 1, 0, 1, 1};
  o.second = {0, 0, 1, 0, 2};
  o.first_score = {0.95f, 0.80f, 0.70f, 0.60f, 0.30f};
  o.first_confidence = o.first_score;
  o.second_confidence = {0.90f, 0.90f, 0.50f, 0.50f, 0.40f};
  return o;
}
}  // namespace

TEST_CASE("evaluating a threshold counts the cascade's right answers and deferrals") {
  const pair_outcomes o = crafted();
  // maxp 0.75 defers inputs 2, 3, 4: without post-check answers 0,1,1,0,2 -> right: 0 and 3.
  threshold_choice c = evaluate_threshold(threshold_rule{score::max_probability, 0.75f}, o, false);
  CHECK(c.accuracy == doctest::Approx(2.0 / 5));
  CHECK(c.second_rate == doctest::Approx(3.0 / 5));
  // With post-check: input 2 keeps the first (0.5 < 0.7) -> right; 3 keeps the first (0.5 < 0.6)
  // -> wrong; 4 takes the second (0.4 > 0.3) -> wrong. Right: 0 and 2.
  c = evaluate_threshold(threshold_rule{score::max_probability, 0.75f}, o, true);
  CHECK(c.accuracy == doctest::Approx(2.0 / 5));
  // maxp 0.85 also defers input 1, which the second fixes: 3 of 5 with and without post-check.
  CHECK(evaluate_threshold(threshold_rule{score::max_probability, 0.85f}, o, false).accuracy ==
        doctest::Approx(3.0 / 5));
  CHECK(evaluate_threshold(threshold_rule{score::max_probability, 0.85f}, o, true).accuracy ==
        doctest::Approx(3.0 / 5));
}

TEST_CASE("lambda* is the best accuracy of the grid, ties going to fewer second-model runs") {
  const pair_outcomes o = crafted();
  // Without post-check, accuracy by threshold t (defer when score < t):
  //   t <= .30: 2/5 (0, 2 right)      .30 < t <= .60: 2/5     .60 < t <= .70: 3/5 (3 fixed)
  //   .70 < t <= .80: 2/5 (2 broken)  .80 < t <= .95: 3/5     t > .95: 3/5 (0 stays right)
  // Best 3/5, cheapest at .60 < t <= .70: the first grid point above 0.60 defers inputs 3, 4.
  const threshold_choice best =
      calibrate_threshold(threshold_rule{score::max_probability, 0.0f}, o, false);
  CHECK(best.accuracy == doctest::Approx(3.0 / 5));
  CHECK(best.second_rate == doctest::Approx(2.0 / 5));
  CHECK(best.threshold > 0.60f);
  CHECK(best.threshold <= 0.70f);
  // With post-check input 3 is never fixed (0.5 < 0.6) and input 2 never broken: accuracy 2/5
  // until t > .80 fixes input 1 (3/5), cheapest at .80 < t <= .95 (inputs 1..4 defer).
  const threshold_choice checked =
      calibrate_threshold(threshold_rule{score::max_probability, 0.0f}, o, true);
  CHECK(checked.accuracy == doctest::Approx(3.0 / 5));
  CHECK(checked.second_rate == doctest::Approx(4.0 / 5));
  CHECK(checked.threshold > 0.80f);
  // A tolerance of one input in five accepts 2/5 at no deferral at all.
  const threshold_choice cheap = calibrate_threshold(threshold_rule{score::max_probability, 0.0f},
                                                     o, false, {.points = 2000, .tolerance = 0.2});
  CHECK(cheap.second_rate == 0.0);
  CHECK(cheap.accuracy == doctest::Approx(2.0 / 5));
}

TEST_CASE("outcomes from logits go through the cascade's softmax and scores") {
  // Two inputs, two classes; logits (2, 0) -> p = (.8808, .1192).
  const std::vector<float> first = {2.0f, 0.0f, 0.0f, 1.0f}, second = {0.0f, 3.0f, 0.0f, 3.0f};
  const std::vector<int> labels = {1, 1};
  const pair_outcomes o =
      pair_outcomes::of(threshold_rule{score::margin, 0.0f}, first, second, labels, 2);
  CHECK(o.first == std::vector<int>{0, 1});
  CHECK(o.second == std::vector<int>{1, 1});
  CHECK(o.first_score[0] == doctest::Approx(std::tanh(1.0)).epsilon(1e-6));  // p1 - p2 = tanh(d/2)
  CHECK(o.second_confidence[1] == doctest::Approx(std::tanh(1.5)).epsilon(1e-6));
  CHECK_THROWS_WITH_AS(pair_outcomes::of(threshold_rule{}, first, second, std::vector<int>{1}, 2),
                       doctest::Contains("expected 1 inputs x 2 classes"), lmnet::error);
}

TEST_CASE("complementarity: the paper's formula and its code's variant, counted by hand") {
  // 10 inputs: a right on 0..5 (6), b right on 3..8 (6): either 9, both 3, |6 - 6| = 0.
  std::vector<int> labels(10, 0), a(10, 1), b(10, 1);
  for (int i = 0; i <= 5; ++i) a[static_cast<std::size_t>(i)] = 0;
  for (int i = 3; i <= 8; ++i) b[static_cast<std::size_t>(i)] = 0;
  complementarity_scores c = complementarity(labels, a, b);
  CHECK(c.paper == doctest::Approx(0.6));
  CHECK(c.code == doctest::Approx(0.6));
  // b also right on 9: either 10, both 3, |6 - 7| = 1 -> paper 6/10, code 7/10.
  b[9] = 0;
  c = complementarity(labels, a, b);
  CHECK(c.paper == doctest::Approx(0.6));
  CHECK(c.code == doctest::Approx(0.7));
  // Identical models complement nothing.
  c = complementarity(labels, a, a);
  CHECK(c.paper == 0.0);
  CHECK(c.code == 0.0);
  CHECK_THROWS_AS(complementarity(labels, a, std::vector<int>(3)), lmnet::error);
}

TEST_CASE("the logistic fit recovers known coefficients and zeroes the gradient") {
  // y ~ Bernoulli(sigmoid(2 x0 - 3 x1 + 0.5)), 20000 draws.
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  const std::size_t n = 20000;
  std::vector<float> rows(2 * n);
  std::vector<std::uint8_t> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    rows[2 * i] = u(rng);
    rows[2 * i + 1] = u(rng);
    const double z = 2.0 * rows[2 * i] - 3.0 * rows[2 * i + 1] + 0.5;
    y[i] = coin(rng) < 1.0 / (1.0 + std::exp(-z));
  }
  const std::vector<double> w = fit_logistic(rows, 2, y, {.l2 = 0.0, .iterations = 100});
  REQUIRE(w.size() == 3);
  CHECK(w[0] == doctest::Approx(2.0).epsilon(0.1));
  CHECK(w[1] == doctest::Approx(-3.0).epsilon(0.1));
  CHECK(w[2] == doctest::Approx(0.5).epsilon(0.2));
  // At the optimum the mean gradient of the log loss vanishes.
  double g0 = 0, g1 = 0, g2 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double p = 1.0 / (1.0 + std::exp(-(w[0] * rows[2 * i] + w[1] * rows[2 * i + 1] + w[2])));
    g0 += (p - y[i]) * rows[2 * i];
    g1 += (p - y[i]) * rows[2 * i + 1];
    g2 += p - y[i];
  }
  CHECK(std::abs(g0 / n) < 1e-8);
  CHECK(std::abs(g1 / n) < 1e-8);
  CHECK(std::abs(g2 / n) < 1e-8);
  CHECK_THROWS_AS(fit_logistic(rows, 3, y), lmnet::error);
}

// SPDX-License-Identifier: Apache-2.0
// Confidence scores against values computed by hand.
#include <lmnet/cascade/classifier.hpp>
#include <lmnet/cascade/scores.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <vector>

using namespace lmnet;

TEST_CASE("softmax of logits that are logs of known probabilities gives those probabilities") {
  const std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  std::vector<float> p(3);
  softmax_probabilities(logits, p);
  CHECK(p[0] == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(p[1] == doctest::Approx(0.3).epsilon(1e-6));
  CHECK(p[2] == doctest::Approx(0.1).epsilon(1e-6));
  // Shifting every logit changes nothing; huge logits neither overflow nor give NaN.
  const std::vector<float> shifted = {1000.0f + logits[0], 1000.0f + logits[1],
                                      1000.0f + logits[2]};
  std::vector<float> q(3);
  softmax_probabilities(shifted, q);
  for (int i = 0; i < 3; ++i) CHECK(q[i] == doctest::Approx(p[i]).epsilon(1e-4));
  CHECK_THROWS_AS(softmax_probabilities(logits, std::span<float>(q).first(2)), lmnet::error);
}

TEST_CASE("max probability, margin and normalised entropy of a known distribution") {
  const std::vector<float> p = {0.2f, 0.5f, 0.3f};
  CHECK(max_probability(p) == doctest::Approx(0.5));
  CHECK(margin(p) == doctest::Approx(0.2));
  const double h =
      -(0.2 * std::log(0.2) + 0.5 * std::log(0.5) + 0.3 * std::log(0.3)) / std::log(3.0);
  CHECK(normalized_entropy(p) == doctest::Approx(h).epsilon(1e-6));
  CHECK(score_value(score::max_probability, p) == doctest::Approx(0.5));
  CHECK(score_value(score::margin, p) == doctest::Approx(0.2));
  CHECK(score_value(score::entropy, p) == doctest::Approx(h).epsilon(1e-6));
  // Oriented so that higher is surer.
  CHECK(confidence(score::entropy, p) == doctest::Approx(1.0 - h).epsilon(1e-6));
  CHECK(confidence(score::margin, p) == doctest::Approx(0.2));
}

TEST_CASE("entropy is normalised by log(classes): 1 when uniform, 0 when certain, for any count") {
  for (int classes : {2, 10, 1000}) {
    const std::vector<float> uniform(static_cast<std::size_t>(classes),
                                     1.0f / static_cast<float>(classes));
    CHECK(normalized_entropy(uniform) == doctest::Approx(1.0).epsilon(1e-5));
    std::vector<float> certain(static_cast<std::size_t>(classes), 0.0f);
    certain[1] = 1.0f;
    CHECK(normalized_entropy(certain) == 0.0f);
    CHECK(margin(certain) == 1.0f);
  }
  CHECK(normalized_entropy(std::vector<float>{1.0f}) == 0.0f);
  CHECK(margin(std::vector<float>{1.0f}) == 1.0f);
}

TEST_CASE("margin with the largest value repeated is zero") {
  CHECK(margin(std::vector<float>{0.4f, 0.4f, 0.2f}) == 0.0f);
  CHECK(margin(std::vector<float>{0.1f, 0.45f, 0.45f}) == 0.0f);
}

TEST_CASE("names round-trip, bad names and empty vectors are errors") {
  for (score s : all_scores) CHECK(parse_score(score_name(s)) == s);
  CHECK_THROWS_WITH_AS(parse_score("difference"),
                       doctest::Contains("unknown confidence score 'difference'"), lmnet::error);
  CHECK_THROWS_AS(max_probability({}), lmnet::error);
  CHECK_THROWS_AS(argmax({}), lmnet::error);
}

TEST_CASE("a prediction from logits is the argmax and its softmax probability") {
  const std::vector<float> logits = {std::log(0.1f), std::log(0.7f), std::log(0.2f)};
  const prediction p = predict_from_logits(logits);
  CHECK(p.label == 1);
  CHECK(p.probability == doctest::Approx(0.7).epsilon(1e-6));
}

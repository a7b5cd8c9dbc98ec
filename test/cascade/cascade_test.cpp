// SPDX-License-Identifier: Apache-2.0
// The cascade against the deferral rule worked out by hand on crafted logits, for every score,
// with and without the post-check; batches against single inputs; real models of two types.
#include "scripted_model.hpp"
#include "test_utils.hpp"

#include <lmnet/cascade/calibration.hpp>
#include <lmnet/cascade/cascade.hpp>
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

using namespace lmnet;
using lmnet::test::scripted_input;
using lmnet::test::scripted_model;

namespace {

/// Logits whose softmax is exactly the given probabilities (up to rounding).
std::vector<float> logits_of(std::vector<double> probabilities) {
  std::vector<float> logits;
  for (double p : probabilities) logits.push_back(static_cast<float>(std::log(p)));
  return logits;
}

// Row r of the first model and row r of the second, with their scores worked out by hand:
//   row  first model p          maxp  margin  H/log3   second model p        maxp  margin  H/log3
//   0    (.90 .05 .05) -> 0     .90   .85     .3590    (.10 .80 .10) -> 1    .80   .70     .5817
//   1    (.50 .40 .10) -> 0     .50   .10     .8587    (.05 .90 .05) -> 1    .90   .85     .3590
//   2    (.40 .35 .25) -> 0     .40   .05     .9835    (.34 .33 .33) -> 0    .34   .01     .9999
//   3    (.30 .60 .10) -> 1     .60   .30     .8173    (.20 .15 .65) -> 2    .65   .45     .8069
const std::vector<std::vector<float>> first_rows = {
    logits_of({.90, .05, .05}), logits_of({.50, .40, .10}), logits_of({.40, .35, .25}),
    logits_of({.30, .60, .10})};
const std::vector<std::vector<float>> second_rows = {
    logits_of({.10, .80, .10}), logits_of({.05, .90, .05}), logits_of({.34, .33, .33}),
    logits_of({.20, .15, .65})};

// What happens to each row: F the first model answers alone; f the second ran but the post-check
// kept the first's answer; S the second's answer is kept.
struct expectation {
  score kind;
  float threshold;
  bool post_check;
  const char* outcome;  // rows 0..3
};

// Worked out from the table: maxp and margin defer when the first's score is below the
// threshold, entropy when above; the post-check keeps the second's answer only if it is surer
// (higher maxp or margin, lower entropy).
const std::vector<expectation> expectations = {
    {score::max_probability, 0.55f, false, "FSSF"},  // rows 1 (.50), 2 (.40) defer
    {score::max_probability, 0.55f, true, "FSfF"},   // row 2: .34 < .40
    {score::max_probability, 0.95f, false, "SSSS"},
    {score::max_probability, 0.95f, true, "fSfS"},  // row 0: .80 < .90; row 3: .65 > .60
    {score::margin, 0.2f, false, "FSSF"},           // rows 1 (.10), 2 (.05) defer
    {score::margin, 0.5f, false, "FSSS"},
    {score::margin, 0.5f, true, "FSfS"},  // row 2: .01 < .05; row 3: .45 > .30
    {score::margin, 0.9f, false, "SSSS"},
    {score::margin, 0.9f, true, "fSfS"},     // row 0: .70 < .85
    {score::entropy, 0.84f, false, "FSSF"},  // rows 1 (.8587), 2 (.9835) defer
    {score::entropy, 0.5f, false, "FSSS"},
    {score::entropy, 0.5f, true, "FSfS"},  // row 2: .9999 > .9835; row 3: .8069 < .8173
    {score::entropy, 0.3f, false, "SSSS"},
    {score::entropy, 0.3f, true, "fSfS"},  // row 0: .5817 > .3590
};

}  // namespace

TEST_CASE("the cascade's answer is the rule worked out by hand, for every score and post-check") {
  for (const expectation& e : expectations) {
    CAPTURE(score_name(e.kind));
    CAPTURE(e.threshold);
    CAPTURE(e.post_check);
    scripted_model first(first_rows), second(second_rows);
    cascade dual(first, second, threshold_rule{e.kind, e.threshold}, {.post_check = e.post_check});
    std::uint64_t second_runs = 0, second_kept = 0;
    for (std::size_t row = 0; row < 4; ++row) {
      CAPTURE(row);
      const char outcome = e.outcome[row];
      const std::span<const float> logits = dual.infer(scripted_input(static_cast<int>(row)));
      // Exactly the logits of the model whose answer is kept.
      const auto& expected = outcome == 'S' ? second_rows[row] : first_rows[row];
      CHECK(std::vector<float>(logits.begin(), logits.end()) == expected);
      CHECK(dual.last_deferred() == (outcome != 'F'));
      second_runs += outcome != 'F';
      second_kept += outcome == 'S';
    }
    CHECK(dual.stats().images == 4);
    CHECK(dual.stats().second_runs == second_runs);
    CHECK(dual.stats().second_kept == second_kept);
    CHECK(second.seen.size() == second_runs);  // the second model ran only when deferred
  }
}

TEST_CASE("a score equal to the threshold does not defer (the paper defers when strictly below)") {
  // Logits (0, 0) give probabilities of exactly 0.5 each: maxp 0.5, margin 0, entropy 1.
  scripted_model first({{0.0f, 0.0f}}), second({{0.0f, 5.0f}});
  cascade at_maxp(first, second, threshold_rule{score::max_probability, 0.5f});
  CHECK(argmax(at_maxp.infer(scripted_input(0))) == 0);
  CHECK_FALSE(at_maxp.last_deferred());
  cascade at_margin(first, second, threshold_rule{score::margin, 0.0f});
  at_margin.infer(scripted_input(0));
  CHECK_FALSE(at_margin.last_deferred());
  cascade at_entropy(first, second, threshold_rule{score::entropy, 1.0f});
  at_entropy.infer(scripted_input(0));
  CHECK_FALSE(at_entropy.last_deferred());
  // Equal confidence in the post-check keeps the first model's answer.
  scripted_model tie({{0.0f, 0.0f}}), tie_second({{1.0f, 1.0f}});
  cascade checked(tie, tie_second, threshold_rule{score::max_probability, 0.9f},
                  {.post_check = true});
  checked.infer(scripted_input(0));
  CHECK(checked.last_deferred());
  CHECK(checked.stats().second_kept == 0);
  cascade above(first, second, threshold_rule{score::max_probability, 0.5001f});
  CHECK(argmax(above.infer(scripted_input(0))) == 1);
  CHECK(above.last_deferred());
}

TEST_CASE("non-finite logits from the first model always defer") {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (score s : all_scores) {
    scripted_model first({{nan, 1.0f, 0.0f}}), second({{0.0f, 0.0f, 3.0f}});
    cascade dual(first, second, threshold_rule{s, 0.0f});
    CHECK(argmax(dual.infer(scripted_input(0))) == 2);
    CHECK(dual.last_deferred());
  }
}

TEST_CASE(
    "a batch gives the same answers as single inputs and runs the second model on the deferred "
    "ones only") {
  // 11 inputs cycling through the rows; maxp 0.55 defers rows 1 and 2.
  std::vector<float> inputs;
  std::vector<int> rows;
  for (int n = 0; n < 11; ++n) {
    rows.push_back(n % 4);
    const std::vector<float> one = scripted_input(n % 4);
    inputs.insert(inputs.end(), one.begin(), one.end());
  }
  for (bool post_check : {false, true}) {
    scripted_model first(first_rows), second(second_rows, /*max_batch=*/2);
    cascade batched(first, second, threshold_rule{score::max_probability, 0.55f},
                    {.post_check = post_check});
    scripted_model first1(first_rows), second1(second_rows);
    cascade single(first1, second1, threshold_rule{score::max_probability, 0.55f},
                   {.post_check = post_check});
    const std::span<const float> all = batched.infer(inputs, 11);
    REQUIRE(all.size() == 33);
    std::vector<int> deferred_rows;
    for (int n = 0; n < 11; ++n) {
      const std::span<const float> one =
          single.infer(scripted_input(rows[static_cast<std::size_t>(n)]));
      CHECK(std::vector<float>(all.begin() + 3 * n, all.begin() + 3 * n + 3) ==
            std::vector<float>(one.begin(), one.end()));
      if (rows[static_cast<std::size_t>(n)] == 1 || rows[static_cast<std::size_t>(n)] == 2) {
        deferred_rows.push_back(rows[static_cast<std::size_t>(n)]);
      }
    }
    CHECK(second.seen == deferred_rows);                 // only the deferred inputs, in order
    CHECK(second.batches == std::vector<int>{2, 2, 2});  // 6 deferred, 2 at a time
    CHECK(first.batches == std::vector<int>{11});
    CHECK(batched.stats().images == 11);
    CHECK(batched.stats().second_runs == 6);
    CHECK(batched.stats().second_rate() == doctest::Approx(6.0 / 11.0));
    CHECK(batched.stats().second_kept == single.stats().second_kept);
  }
}

TEST_CASE(
    "models that disagree on the number of classes, or a batch that does not divide, are errors") {
  scripted_model first({{0.0f, 1.0f, 2.0f}}), second({{0.0f, 1.0f}});
  cascade dual(first, second, threshold_rule{score::max_probability, 1.0f});
  CHECK_THROWS_WITH_AS(dual.infer(scripted_input(0)),
                       doctest::Contains("second model gave 2 logits"), lmnet::error);
  std::vector<float> seven(7, 0.0f);
  CHECK_THROWS_WITH_AS(dual.infer(seven, 2), doctest::Contains("do not split into 2 inputs"),
                       lmnet::error);
}

namespace {
inline constexpr auto small_net =
    network{input{6, 6, 1}, conv2d{.out = 4, .stride = 2}, batch_norm{}, relu, global_avg_pool{},
            dense{.out = 5}};
inline constexpr auto other_net =
    network{input{6, 6, 1},     pointwise_conv2d{.out = 3}, relu,
            depthwise_conv2d{}, global_avg_pool{},          dense{.out = 5, .bias = true}};
}  // namespace

TEST_CASE("a cascade of two real models of different types, single and batched, follows the rule") {
  model<small_net> first(4);
  model<other_net> second(4);
  first.load(random_weights{3});
  second.load(random_weights{4});
  const std::vector<float> images = test::random_vector(4 * 36, 9);
  for (score s : all_scores) {
    for (bool post_check : {false, true}) {
      // The median first-model score as threshold, so that some images defer and some do not.
      std::vector<float> scores;
      std::vector<std::vector<float>> first_logits, second_logits;
      for (int n = 0; n < 4; ++n) {
        const std::span<const float> image(images.data() + 36 * n, 36);
        const auto a = first.infer(image);
        first_logits.emplace_back(a.begin(), a.end());
        const auto b = second.infer(image);
        second_logits.emplace_back(b.begin(), b.end());
        std::vector<float> p(5);
        softmax_probabilities(first_logits.back(), p);
        scores.push_back(score_value(s, p));
      }
      std::vector<float> sorted = scores;
      std::sort(sorted.begin(), sorted.end());
      const float threshold = 0.5f * (sorted[1] + sorted[2]);
      cascade dual(first, second, threshold_rule{s, threshold}, {.post_check = post_check});
      const std::span<const float> batch = dual.infer(images, 4);
      const std::vector<float> batch_copy(batch.begin(), batch.end());
      for (int n = 0; n < 4; ++n) {
        const bool defer = higher_is_surer(s) ? scores[static_cast<std::size_t>(n)] < threshold
                                              : scores[static_cast<std::size_t>(n)] > threshold;
        std::vector<float> p(5), q(5);
        softmax_probabilities(first_logits[static_cast<std::size_t>(n)], p);
        softmax_probabilities(second_logits[static_cast<std::size_t>(n)], q);
        const bool take_second = defer && (!post_check || confidence(s, q) > confidence(s, p));
        const auto& expected = take_second ? second_logits[static_cast<std::size_t>(n)]
                                           : first_logits[static_cast<std::size_t>(n)];
        const std::span<const float> one =
            dual.infer(std::span<const float>(images.data() + 36 * n, 36));
        CHECK(std::vector<float>(one.begin(), one.end()) == expected);
        CHECK(std::vector<float>(batch_copy.begin() + 5 * n, batch_copy.begin() + 5 * n + 5) ==
              expected);
      }
      CHECK(dual.stats().second_runs == 4);  // two of four deferred, in the batch and singly
    }
  }
}

TEST_CASE("cascades nest: a cascade is itself a classifier") {
  scripted_model a(first_rows), b(second_rows),
      c({logits_of({.1, .1, .8}), logits_of({.1, .1, .8}), logits_of({.1, .1, .8}),
         logits_of({.1, .1, .8})});
  cascade inner(a, b, threshold_rule{score::max_probability, 0.55f});
  cascade outer(inner, c, threshold_rule{score::max_probability, 0.45f});
  static_assert(BatchClassifier<decltype(inner)>);
  // Row 2: a is unsure (0.40), b answers 0.34, still below 0.45: c answers 2.
  CHECK(argmax(outer.infer(scripted_input(2))) == 2);
  CHECK(argmax(outer.infer(scripted_input(0))) == 0);
  CHECK(outer.classify(scripted_input(1)).label == 1);
}

TEST_CASE(
    "a learned rule defers where the second model is a specialist, which confidence cannot see") {
  // Three classes. The first model is always equally sure (maxp 0.7), so no confidence threshold
  // tells its errors apart; but when it answers class 2 it is wrong half of the time and the
  // second model is then right, while on classes 0 and 1 it is right and the second is wrong.
  std::vector<float> first_logits;
  std::vector<int> second_answers, labels;
  for (int i = 0; i < 600; ++i) {
    const int answer = i % 3;
    std::vector<double> p = {.15, .15, .15};
    p[static_cast<std::size_t>(answer)] = .7;
    const std::vector<float> l = logits_of(p);
    first_logits.insert(first_logits.end(), l.begin(), l.end());
    const bool first_wrong = answer == 2 && (i / 3) % 2 == 0;
    labels.push_back(first_wrong ? 0 : answer);
    second_answers.push_back(answer == 2 ? labels.back() : (answer + 1) % 3);
  }
  const learned_rule rule = fit_learned_rule(first_logits, second_answers, labels, 3);
  const auto decide = [&](int answer) {
    std::vector<double> p = {.15, .15, .15};
    p[static_cast<std::size_t>(answer)] = .7;
    std::vector<float> q(3);
    softmax_probabilities(logits_of(p), q);
    return rule.defer(q);
  };
  CHECK_FALSE(decide(0));
  CHECK_FALSE(decide(1));
  CHECK(decide(2));

  // Text round trip gives the same rule; malformed text is an error naming what is wrong.
  const learned_rule back = learned_rule::parse(rule.to_string());
  CHECK(back.classes() == 3);
  CHECK(back.threshold() == rule.threshold());
  for (int answer = 0; answer < 3; ++answer) {
    std::vector<double> p = {.2, .2, .2};
    p[static_cast<std::size_t>(answer)] = .6;
    std::vector<float> q(3);
    softmax_probabilities(logits_of(p), q);
    CHECK(back.score_of(q) == rule.score_of(q));
  }
  CHECK_THROWS_WITH_AS(
      learned_rule::parse("lmnet-learned-rule 1\nclasses 3\nper_class 1\nthreshold 0.5\nfix 1 2\n"),
      doctest::Contains("'fix' needs 7 weights"), lmnet::error);
  CHECK_THROWS_WITH_AS(learned_rule::parse("something else"),
                       doctest::Contains("expected 'lmnet-learned-rule'"), lmnet::error);
  CHECK_THROWS_WITH_AS(rule.score_of(std::vector<float>{0.5f, 0.5f}),
                       doctest::Contains("fitted for 3 classes"), lmnet::error);

  // In a cascade, the learned rule routes exactly the class-2 answers to the second model.
  scripted_model first(
      {logits_of({.7, .15, .15}), logits_of({.15, .7, .15}), logits_of({.15, .15, .7})}),
      second({logits_of({.1, .8, .1}), logits_of({.1, .1, .8}), logits_of({.8, .1, .1})});
  cascade dual(first, second, rule);
  CHECK(argmax(dual.infer(scripted_input(0))) == 0);
  CHECK(argmax(dual.infer(scripted_input(1))) == 1);
  CHECK(argmax(dual.infer(scripted_input(2))) == 0);
  CHECK(second.seen == std::vector<int>{2});
}

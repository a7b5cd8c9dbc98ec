// SPDX-License-Identifier: Apache-2.0
// lmnet::profile on the reference and simd backends (one step per node that runs; one per
// schedule step, a fused block being one), its table and JSON, the engines' step observer, and the
// simd backend with block fusion off.
#include "json_reader.hpp"
#include "test_utils.hpp"

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>
#include <lmnet/profile.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

using namespace lmnet;

namespace {

// An MNASNet-like network composed by hand: a stem its expansion-free separable block absorbs,
// 5x5 and 3x3 depthwise layers, expansions 3 and 6, residuals where stride 1 keeps the width.
template <int Expansion, int Kernel, int Stride>
constexpr auto bottleneck(int in, int out) {
  return sequential(pointwise_conv2d{.out = in * Expansion}, batch_norm{}, relu,
                    depthwise_conv2d{.kernel = Kernel, .stride = Stride}, batch_norm{}, relu,
                    pointwise_conv2d{.out = out}, batch_norm{});
}

inline constexpr auto mnas_like = network{
    input{24, 20, 3},
    conv2d{.out = 8, .stride = 2},
    batch_norm{},
    relu,
    sequential(depthwise_conv2d{}, batch_norm{}, relu, pointwise_conv2d{.out = 8}, batch_norm{}),
    bottleneck<3, 5, 2>(8, 16),
    residual(bottleneck<3, 5, 1>(16, 16)),
    bottleneck<6, 3, 1>(16, 24),
    global_avg_pool{},
    dense{.out = 7}};

inline constexpr auto shufflenet = models::shufflenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});

using simd_unfused =
    backend::simd<xsimd::default_arch, backend::simd_options{.fuse_blocks = false}>;

std::vector<float> image_of(shape s, int batch = 1, std::uint32_t seed = 5) {
  return test::random_vector(s.size() * static_cast<std::size_t>(batch), seed, 0.0f, 1.0f);
}

// The invariants every profile keeps: one entry per engine step, MACs summing to the plan's,
// shares to 1, a table line per step, and JSON that reads back as the same steps.
template <class Model>
void check_report(const profile_report& r) {
  using engine = typename Model::engine_type;
  REQUIRE(static_cast<int>(r.steps.size()) == engine::step_count());
  std::size_t macs = 0;
  double shares = 0;
  for (const step_profile& p : r.steps) {
    macs += p.macs;
    shares += p.share;
    CHECK(p.median_seconds > 0);
    CHECK(p.output.valid());
    CHECK(!p.op.empty());
  }
  CHECK(macs == Model::plan.macs());
  CHECK(r.macs == Model::plan.macs());
  CHECK(shares == doctest::Approx(1.0).epsilon(1e-9));
  CHECK(r.run_seconds >= r.steps.front().median_seconds);

  const std::string table = r.table();
  CHECK(std::count(table.begin(), table.end(), '\n') == static_cast<long>(r.steps.size()) + 3);
  for (const step_profile& p : r.steps) CHECK(table.find(p.op) != std::string::npos);

  const test::json_value j = test::json_reader::parse(r.json());
  CHECK(j["batch"].number == r.batch);
  CHECK(j["macs"].number == static_cast<double>(Model::plan.macs()));
  const auto& steps = j["steps"].items;
  REQUIRE(steps.size() == r.steps.size());
  double json_shares = 0;
  for (std::size_t k = 0; k < steps.size(); ++k) {
    CHECK(steps[k]["step"].number == static_cast<double>(k));
    CHECK(steps[k]["path"].text == r.steps[k].path);
    CHECK(steps[k]["op"].text == r.steps[k].op);
    CHECK(steps[k]["covers"].items.size() == r.steps[k].covers.size());
    CHECK(steps[k]["output"].items.size() == 3);
    CHECK(steps[k]["macs"].number == static_cast<double>(r.steps[k].macs));
    json_shares += steps[k]["share"].number;
  }
  CHECK(json_shares == doctest::Approx(1.0).epsilon(1e-6));
}

// An observer that keeps what it was told.
struct step_log {
  std::vector<int> events;  // step k begins: k; ends: -1 - k
  void step_begins(int step) { events.push_back(step); }
  void step_ends(int step) { events.push_back(-1 - step); }
};

template <class Model>
void check_observer(Model& m) {
  const std::vector<float> image = image_of(Model::input_shape);
  step_log log;
  const auto observed = m.infer(image, 1, log);
  const std::vector<float> with(observed.begin(), observed.end());
  const int steps = Model::engine_type::step_count();
  REQUIRE(static_cast<int>(log.events.size()) == 2 * steps);
  for (int k = 0; k < steps; ++k) {
    CHECK(log.events[static_cast<std::size_t>(2 * k)] == k);
    CHECK(log.events[static_cast<std::size_t>(2 * k + 1)] == -1 - k);
  }
  const auto plain = m.infer(image);
  CHECK(std::vector<float>(plain.begin(), plain.end()) == with);
}

// An executor of two threads that runs its tasks in order on the caller and counts its calls.
struct counting_executor {
  int calls = 0;
  int concurrency() const { return 2; }
  void parallel_for(int count, task_ref task) {
    ++calls;
    for (int i = 0; i < count; ++i) task(i);
  }
};

// Keeps how many parallel_for calls each step made between its beginning and its end, and how
// many came between steps.
struct parallel_calls {
  const counting_executor* executor;
  std::vector<int> inside;
  int outside = 0;
  int last = 0;
  void step_begins(int) {
    outside += executor->calls - last;
    last = executor->calls;
  }
  void step_ends(int) {
    inside.push_back(executor->calls - last);
    last = executor->calls;
  }
};

}  // namespace

TEST_CASE("profile: reference backend, one step per node that runs") {
  model<mnas_like> m;
  m.load(random_weights{1});
  const profile_report r = profile(m, image_of(m.input_shape), 3);
  check_report<model<mnas_like>>(r);
  int nodes = 0;
  for (const node& n : m.plan.nodes) nodes += n.elided ? 0 : 1;
  CHECK(static_cast<int>(r.steps.size()) == nodes);
  CHECK(r.steps.front().path == "0");
  CHECK(r.steps.front().op == "conv2d");
  CHECK(r.steps.front().output == shape{12, 10, 8});
  CHECK(r.steps.back().op == "dense");
  CHECK(r.threads == 1);
  check_observer(m);
}

TEST_CASE("profile: simd backend, a fused block is one step") {
  using fast = model<mnas_like, backend::simd<>>;
  constexpr auto& s = fast::engine_type::schedule;
  static_assert(s.block_count == 4, "every bottleneck of mnas_like runs fused");
  fast m;
  m.load(random_weights{1});
  const profile_report r = profile(m, image_of(m.input_shape), 3);
  check_report<fast>(r);
  // The stem runs as the separable block's expansion: one step, both layers' MACs.
  const step_profile& stem = r.steps[0];
  CHECK(stem.op == "fused_block[conv2d+depthwise+pointwise]");
  CHECK(stem.path.empty());
  CHECK(stem.covers == std::vector<std::string>{"0", "3.0", "3.3"});
  CHECK(stem.macs ==
        m.plan.nodes[0].spec.macs() + m.plan.nodes[1].spec.macs() + m.plan.nodes[2].spec.macs());
  // A hand-composed bottleneck: the common prefix of its layers' paths, and what it covers.
  const step_profile& block = r.steps[1];
  CHECK(block.op == "fused_block[pointwise+depthwise+pointwise]");
  CHECK(block.path == "4");
  CHECK(block.covers == std::vector<std::string>{"0", "3", "6"});
  CHECK(block.output == shape{6, 5, 16});
  CHECK(r.steps[2].path == "5.0");  // residual() wraps its body as child 0
  const auto fused = std::count_if(r.steps.begin(), r.steps.end(), [](const step_profile& p) {
    return p.op.starts_with("fused_block[");
  });
  CHECK(fused == s.block_count);
  check_observer(m);
}

TEST_CASE("profile: simd on two threads, batches, and a network with strided copies") {
  thread_pool two(2);
  using fast = model<mnas_like, backend::simd<>>;
  fast m(3, two);
  m.load(random_weights{2});
  const profile_report r = profile(m, image_of(m.input_shape, 3), 3);
  check_report<fast>(r);
  CHECK(r.threads == 2);
  CHECK(r.batch == 3);
  check_observer(m);

  using shuffled = model<shufflenet, backend::simd<>>;
  shuffled sh;
  sh.load(random_weights{3});
  const profile_report rs = profile(sh, image_of(sh.input_shape), 2);
  check_report<shuffled>(rs);
  CHECK(std::any_of(rs.steps.begin(), rs.steps.end(),
                    [](const step_profile& p) { return p.op == "strided_copy"; }));
}

TEST_CASE("simd engine: each step's threads run between its beginning and its end") {
  counting_executor executor;
  using fast = model<mnas_like, backend::simd<>>;
  fast m(2, executor);  // a batch of two: shared out image by image
  m.load(random_weights{2});
  parallel_calls observed{.executor = &executor, .inside = {}};
  m.infer(image_of(m.input_shape, 2), 2, observed);
  CHECK(observed.inside ==
        std::vector<int>(static_cast<std::size_t>(fast::engine_type::step_count()), 1));
  CHECK(observed.outside == 0);
}

TEST_CASE("simd backend with block fusion off: the same outputs, a step per layer") {
  using fused = model<mnas_like, backend::simd<>>;
  using unfused = model<mnas_like, simd_unfused>;
  static_assert(unfused::engine_type::schedule.block_count == 0);
  static_assert(unfused::engine_type::step_count() > fused::engine_type::step_count());
  static_assert(unfused::engine_type::step_count() == model<mnas_like>::engine_type::step_count());
  for (const int batch : {1, 2}) {
    model<mnas_like> ref(batch);
    fused a(batch);
    unfused b(batch);
    ref.load(random_weights{4});
    a.load(random_weights{4});
    b.load(random_weights{4});
    const std::vector<float> images = image_of(a.input_shape, batch, 6);
    const auto want = ref.infer(images, batch);
    const std::vector<float> expect(want.begin(), want.end());
    const auto x = a.infer(images, batch);
    const auto y = b.infer(images, batch);
    CHECK(test::max_relative_error({x.begin(), x.end()}, expect) < 1e-5);
    CHECK(test::max_relative_error({y.begin(), y.end()}, expect) < 1e-5);
  }
  unfused b;
  b.load(random_weights{4});
  const profile_report r = profile(b, image_of(b.input_shape), 2);
  check_report<unfused>(r);
  CHECK(std::none_of(r.steps.begin(), r.steps.end(),
                     [](const step_profile& p) { return p.op.starts_with("fused_block"); }));
}

TEST_CASE("profile: misuse is an lmnet::error that says what is wrong") {
  model<mnas_like> m;
  m.load(random_weights{1});
  const std::vector<float> image = image_of(m.input_shape);
  CHECK_THROWS_WITH_AS(profile(m, image, 0), "lmnet: profile: runs must be at least 1, got 0",
                       lmnet::error);
  const std::vector<float> ragged(image.size() + 1, 0.5f);
  CHECK_THROWS_WITH_AS(profile(m, ragged),
                       "lmnet: profile: the input holds 1441 floats, not a whole number of images "
                       "of 24x20x3 (1440 floats)",
                       lmnet::error);
  std::vector<float> two(2 * image.size(), 0.5f);
  CHECK_THROWS_WITH_AS(profile(m, two), "lmnet: batch of 2 images, the model was built for 1 to 1",
                       lmnet::error);
}

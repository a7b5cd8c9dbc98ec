// SPDX-License-Identifier: Apache-2.0
// Whole networks on the simd backend against the reference backend: every preset, fused blocks
// of odd shapes (odd channel counts, strides 1 and 2, 1x1 images, several L-Mobilenet
// configurations), unfused plans, batches, and the same networks on a thread pool, image by image
// and row by row. Built once per instruction set (see test/CMakeLists.txt).
#include "test_utils.hpp"

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <thread>
#include <vector>

using namespace lmnet;

namespace {

inline constexpr auto mobilenet_v2_224 = models::mobilenet_v2();
inline constexpr auto mobilenet_v2_32 = models::mobilenet_v2({.resolution = 32});
inline constexpr auto mobilenet_v2_cifar =
    models::mobilenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto mobilenet_v2_half_cifar = models::mobilenet_v2(
    {.classes = 10, .channels = 1, .resolution = 32, .width = 0.5, .cifar = true});
inline constexpr auto shufflenet_v2_cifar =
    models::shufflenet_v2({.classes = 10, .channels = 1, .resolution = 32, .cifar = true});
inline constexpr auto shufflenet_v2_64 =
    models::shufflenet_v2({.classes = 7, .resolution = 64, .width = 0.5});
inline constexpr auto l_mobilenet = models::l_mobilenet({.classes = 10, .channels = 1});
inline constexpr auto l_mobilenet_rgb = models::l_mobilenet({.classes = 100, .width = 0.75});
inline constexpr auto plain_cnn = models::plain_cnn({.channels = 1});
inline constexpr auto resnet_cifar = models::resnet_cifar({.channels = 3, .blocks_per_stage = 2});

// Fused blocks of awkward shapes: odd and non-register-multiple channels, stride 2 on odd sizes,
// expansion 1, several branch layouts, a 1x1 image at the end, softmax.
inline constexpr auto odd_blocks = network{
    input{11, 9, 5},
    conv2d{.out = 7, .stride = 2},
    batch_norm{},
    relu6,
    inverted_residual{.out = 7, .stride = 1, .expansion = 3},
    inverted_residual{.out = 13, .stride = 2, .expansion = 1},
    l_bottleneck<{
        .expansion = 3, .groups = 1, .branches = 3, .depths = {1, 2, 3}, .widths = {1, 2, 1}}>{
        .out = 13},
    l_bottleneck<{.expansion = 2, .groups = 1, .branches = 1, .depths = {2}, .widths = {1}}>{
        .out = 17, .stride = 2},
    inverted_residual{.out = 17, .stride = 1, .expansion = 6},
    inverted_residual{.out = 9, .stride = 2, .expansion = 4},
    l_bottleneck<>{.out = 10},
    global_avg_pool{},
    dense{.out = 6},
    softmax{}};

// 1x1 images from the start, and 5x5 depthwise layers outside blocks.
inline constexpr auto tiny = network{input{1, 1, 3},
                                     pointwise_conv2d{.out = 19},
                                     relu,
                                     inverted_residual{.out = 19, .expansion = 2},
                                     depthwise_conv2d{.kernel = 5, .bias = true},
                                     l_bottleneck<>{.out = 22},
                                     dense{.out = 4}};

// A standard convolution read only by an expansion-free block runs as that block's expansion
// (odd sizes, stride 2 in the convolution, then in the block); with a residual reading its output,
// it runs alone.
inline constexpr auto fused_stems =
    network{input{13, 10, 3},
            conv2d{.out = 9, .stride = 2},
            batch_norm{},
            relu6,
            inverted_residual{.out = 11, .expansion = 1},
            conv2d{.out = 5, .kernel = 5, .padding = 2},
            relu,
            inverted_residual{.out = 6, .stride = 2, .expansion = 1},
            conv2d{.out = 7},
            inverted_residual{.out = 7, .expansion = 1},
            global_avg_pool{},
            dense{.out = 3}};

// An MNASNet-like network composed by hand from layers (no block type): 5x5 and 3x3 depthwise
// layers, expansions 3 and 6, a residual where the stride is 1 and the widths match, and the same
// bottleneck written with `inverted_residual{.kernel = 5}`. Every bottleneck is found by its
// structure and fused.
template <int Expansion, int Kernel, int Stride>
constexpr auto mnas_bottleneck(int in, int out) {
  return sequential(pointwise_conv2d{.out = in * Expansion}, batch_norm{}, relu,
                    depthwise_conv2d{.kernel = Kernel, .stride = Stride}, batch_norm{}, relu,
                    pointwise_conv2d{.out = out}, batch_norm{});
}
inline constexpr auto mnas_by_hand =
    network{input{20, 18, 3},
            conv2d{.out = 8, .stride = 2},
            batch_norm{},
            relu,
            mnas_bottleneck<3, 3, 1>(8, 12),
            residual(mnas_bottleneck<3, 5, 1>(12, 12)),
            mnas_bottleneck<6, 5, 2>(12, 20),
            residual(mnas_bottleneck<6, 5, 1>(20, 20)),
            inverted_residual{.out = 20, .expansion = 6, .kernel = 5},
            global_avg_pool{},
            dense{.out = 5}};

template <class Schedule>
constexpr int count_steps(const Schedule& s, simd::step_kind kind) {
  int count = 0;
  for (int k = 0; k < s.step_count; ++k) count += s.steps[static_cast<std::size_t>(k)].kind == kind;
  return count;
}

// Steps that run one layer of kind `kind` of network Net.
template <const auto& Net>
constexpr int count_layer_steps(op kind) {
  constexpr auto& s = model<Net, backend::simd<>>::engine_type::schedule;
  int count = 0;
  for (int k = 0; k < s.step_count; ++k) {
    const simd::step& st = s.steps[static_cast<std::size_t>(k)];
    count += st.kind == simd::step_kind::layer &&
             plan_of<Net>.nodes[static_cast<std::size_t>(st.node)].kind() == kind;
  }
  return count;
}

template <const auto& Net, compile_options Options = compile_options{}, class... EngineArgs>
void check_against_reference(int batch, std::uint32_t seed, EngineArgs&... engine_args) {
  model<Net, backend::reference, Options> ref(batch);
  model<Net, backend::simd<>, Options> fast(batch, engine_args...);
  ref.load(random_weights{seed});
  fast.load(random_weights{seed});
  const auto images = test::random_vector(ref.input_shape.size() * static_cast<std::size_t>(batch),
                                          seed + 1, 0.0f, 1.0f);
  const auto expect = ref.infer(images, batch);
  const std::vector<float> want(expect.begin(), expect.end());
  for (int run = 0; run < 2; ++run) {  // the second run starts from a used arena
    const auto got = fast.infer(images, batch);
    CHECK(test::max_relative_error({got.begin(), got.end()}, want) < 1e-5);
  }
  double spread = 0;
  for (float v : want) spread += std::abs(v);
  CHECK(spread > 0.0);
}

}  // namespace

TEST_CASE("simd model: mobilenet_v2 at 224x224 and 32x32") {
  check_against_reference<mobilenet_v2_224>(1, 1);
  check_against_reference<mobilenet_v2_32>(2, 2);
  // The stem runs as the first block's expansion: no standalone standard convolution is left.
  constexpr auto& s = model<mobilenet_v2_224, backend::simd<>>::engine_type::schedule;
  static_assert(count_layer_steps<mobilenet_v2_224>(op::conv2d) == 0);
  static_assert(s.blocks[0].expand_is_conv);
}

TEST_CASE("simd model: standard convolutions fused into the blocks that read them") {
  constexpr auto& s = model<fused_stems, backend::simd<>>::engine_type::schedule;
  static_assert(s.block_count == 3);
  static_assert(s.blocks[0].expand_is_conv && s.blocks[1].expand_is_conv);
  static_assert(!s.blocks[2].expand_is_conv, "its residual reads the convolution's output");
  static_assert(count_layer_steps<fused_stems>(op::conv2d) == 1);
  check_against_reference<fused_stems>(1, 22);
  check_against_reference<fused_stems>(3, 23);
  thread_pool two(2);
  check_against_reference<fused_stems>(1, 24, two);
}

TEST_CASE("simd model: bottlenecks composed by hand are fused like the block types") {
  constexpr auto& s = model<mnas_by_hand, backend::simd<>>::engine_type::schedule;
  static_assert(s.block_count == 5);
  static_assert(count_layer_steps<mnas_by_hand>(op::pointwise_conv2d) == 0);
  static_assert(count_layer_steps<mnas_by_hand>(op::depthwise_conv2d) == 0);
  check_against_reference<mnas_by_hand>(1, 31);
  check_against_reference<mnas_by_hand>(2, 32);
  thread_pool two(2);
  check_against_reference<mnas_by_hand>(1, 33, two);
}

TEST_CASE("simd model: CIFAR-size mobilenet_v2 (width 1 and 0.5)") {
  check_against_reference<mobilenet_v2_cifar>(2, 3);
  check_against_reference<mobilenet_v2_half_cifar>(1, 4);
}

TEST_CASE("simd model: shufflenet_v2 (CIFAR size, and 64x64 with stem pooling)") {
  // Every concat + channel shuffle is folded into the layers that produce the concat's inputs.
  constexpr auto& s = model<shufflenet_v2_cifar, backend::simd<>>::engine_type::schedule;
  static_assert(count_layer_steps<shufflenet_v2_cifar>(op::channel_shuffle) == 0);
  static_assert(count_layer_steps<shufflenet_v2_cifar>(op::concat) == 0);
  static_assert(count_steps(s, simd::step_kind::strided_copy) == 13);  // the stride-1 units' halves
  check_against_reference<shufflenet_v2_cifar>(2, 5);
  check_against_reference<shufflenet_v2_64>(1, 6);
}

TEST_CASE("simd model: l_mobilenet (1 and 3 channels, width 0.75)") {
  check_against_reference<l_mobilenet>(3, 7);
  check_against_reference<l_mobilenet_rgb>(1, 8);
}

TEST_CASE("simd model: plain CNN and ResNet") {
  check_against_reference<plain_cnn>(2, 9);
  check_against_reference<resnet_cifar>(1, 10);
}

TEST_CASE("simd model: fused blocks of odd shapes, 1x1 images") {
  constexpr auto& s = model<odd_blocks, backend::simd<>>::engine_type::schedule;
  static_assert(s.block_count == 7, "every bottleneck of odd_blocks runs fused");
  check_against_reference<odd_blocks>(1, 11);
  check_against_reference<odd_blocks>(3, 12);
  check_against_reference<tiny>(2, 13);
}

TEST_CASE("simd model: unfused plans (standalone activation and add kernels)") {
  check_against_reference<odd_blocks, compile_options{.fuse = false}>(2, 14);
  check_against_reference<l_mobilenet, compile_options{.fuse = false}>(1, 15);
}

TEST_CASE("simd model: a thread pool splits rows (batch 1) and images (batch >= threads)") {
  thread_pool two(2), three(3);
  check_against_reference<l_mobilenet>(1, 16, two);
  check_against_reference<l_mobilenet>(4, 17, two);
  check_against_reference<odd_blocks>(1, 18, three);
  check_against_reference<odd_blocks>(5, 19, three);
  check_against_reference<shufflenet_v2_cifar>(1, 20, three);
  check_against_reference<mobilenet_v2_cifar>(1, 21, two);
}

TEST_CASE("simd row_balance: shares follow the parts' rates and cover every row once") {
  simd::row_balance balance(2, 3);
  for (int part = 0; part < 3; ++part) CHECK(balance.weight(1, part) == doctest::Approx(1.0 / 3));
  // Part 2 twice as slow as the others, on step 1 only.
  for (int run = 0; run < 30; ++run) {
    for (int part = 0; part < 3; ++part) balance.record(part, 100, part == 2 ? 2.0 : 1.0);
    balance.update(1);
  }
  CHECK(balance.weight(1, 0) == doctest::Approx(0.4).epsilon(0.01));
  CHECK(balance.weight(1, 2) == doctest::Approx(0.2).epsilon(0.01));
  CHECK(balance.weight(0, 2) == doctest::Approx(1.0 / 3));  // other steps untouched
  for (int total : {0, 1, 2, 7, 112}) {
    int next = 0;
    for (int part = 0; part < 3; ++part) {
      const auto rows = balance.share(1, total, part);
      CHECK(rows.begin == next);
      CHECK(rows.end >= rows.begin);
      next = rows.end;
    }
    CHECK(next == total);
  }
  // A part that stalls keeps a quarter of an equal share; one that recorded nothing changes
  // nothing.
  for (int run = 0; run < 50; ++run) {
    for (int part = 0; part < 3; ++part) balance.record(part, 100, part == 0 ? 1e3 : 1.0);
    balance.update(1);
  }
  CHECK(balance.weight(1, 0) >= 0.25 / 3 - 1e-9);
  CHECK(balance.weight(1, 0) < 0.1);
  const double before = balance.weight(1, 1);
  balance.record(1, 0, 1.0);
  balance.update(1);
  CHECK(balance.weight(1, 1) == before);
}

namespace {
// Runs tasks in order on the caller, the second one late, as a core the host slowed down would.
struct late_second_task {
  int concurrency() const { return 2; }
  void parallel_for(int count, task_ref task) {
    for (int i = 0; i < count; ++i) {
      if (i == 1) std::this_thread::sleep_for(std::chrono::microseconds(300));
      task(i);
    }
  }
};
}  // namespace

// A late second thread on network Net: every split step's shares move to the first thread, and
// the results stay those of the reference.
template <const auto& Net>
void check_late_thread(std::uint32_t seed) {
  late_second_task late;
  model<Net, backend::reference> ref(1);
  model<Net, backend::simd<>> fast(1, late);
  ref.load(random_weights{seed});
  fast.load(random_weights{seed});
  const auto image = test::random_vector(ref.input_shape.size(), seed + 1, 0.0f, 1.0f);
  const auto expect = ref.infer(image);
  const std::vector<float> want(expect.begin(), expect.end());
  for (int run = 0; run < 12; ++run) {
    const auto got = fast.infer(image);
    CHECK(test::max_relative_error({got.begin(), got.end()}, want) < 1e-5);
  }
  using engine_type = typename model<Net, backend::simd<>>::engine_type;
  const auto& shares = fast.backend_engine().row_shares();
  int split = 0;
  for (int k = 0; k < engine_type::schedule.step_count; ++k) {
    if (!engine_type::schedule.steps[static_cast<std::size_t>(k)].parallel) continue;
    ++split;
    CHECK(shares.weight(k, 0) > 0.6);
  }
  CHECK(split > 0);
}

TEST_CASE("simd model: a late thread gets fewer rows, and the results do not change") {
  check_late_thread<l_mobilenet>(22);
}

template <class Schedule>
constexpr int channel_split_blocks(const Schedule& s) {
  int count = 0;
  for (int b = 0; b < s.block_count; ++b)
    count += s.blocks[static_cast<std::size_t>(b)].splits_channels;
  return count;
}

TEST_CASE("simd model: blocks of few rows share out their hidden channels among threads") {
  // MobileNetV2's blocks of 16 rows or fewer (CIFAR size: 16, 8 and 4; 224: 14 and 7).
  static_assert(channel_split_blocks(
                    model<mobilenet_v2_cifar, backend::simd<>>::engine_type::schedule) == 14);
  static_assert(
      channel_split_blocks(model<mobilenet_v2_224, backend::simd<>>::engine_type::schedule) == 11);
  // L-Mobilenet's bottlenecks have parallel branches: split by rows only.
  static_assert(channel_split_blocks(model<l_mobilenet, backend::simd<>>::engine_type::schedule) ==
                0);
  thread_pool two(2), three(3);
  check_against_reference<mobilenet_v2_cifar>(1, 25, three);
  check_against_reference<mobilenet_v2_half_cifar>(1, 26, two);
  check_against_reference<odd_blocks>(1, 27, two);
  // A late thread: its share of the hidden channels shrinks too.
  check_late_thread<mobilenet_v2_cifar>(28);
}

TEST_CASE("simd model: engine errors") {
  model<tiny, backend::simd<>> m(2);
  m.load(random_weights{});
  std::vector<float> images(m.input_shape.size() * 3);
  CHECK_THROWS_WITH_AS(m.infer(images, 3),
                       "lmnet: batch of 3 images, the model was built for 1 to 2", lmnet::error);
  CHECK_THROWS_AS(m.backend_engine().run(images.data(), 3), lmnet::error);
  const std::vector<float> short_weights(3);
  CHECK_THROWS_AS(m.backend_engine().load(short_weights), lmnet::error);
}

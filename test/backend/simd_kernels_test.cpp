// SPDX-License-Identifier: Apache-2.0
// Each simd kernel against the reference kernel on random shapes: odd channel counts, channels
// that are not a multiple of the register width, strides 1 and 2 (and 3), 1x1 images, channel
// slices (strided views), batches, and work split into parts the way threads split it. Built
// once per instruction set (see test/CMakeLists.txt).
#include "test_utils.hpp"

#include <lmnet/backend/reference.hpp>
#include <lmnet/backend/simd.hpp>
#include <lmnet/layers.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

using namespace lmnet;
using arch = xsimd::default_arch;
using vec = simd::vector<arch>;

namespace {

struct random_source {
  std::mt19937 rng;
  explicit random_source(std::uint32_t seed) : rng(seed) {}
  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
  template <class T>
  T pick_of(std::initializer_list<T> values) {
    return *(values.begin() + pick(0, static_cast<int>(values.size()) - 1));
  }
  std::vector<float> floats(std::size_t n, float lo = -1.0f, float hi = 1.0f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
  }
  // Channel counts around register multiples: 1, odd, width - 1, width, width + 1, ...
  int channels(int most = 70) {
    if (pick(0, 2) == 0) return std::clamp(vec::width * pick(1, 4) + pick(-1, 1), 1, most);
    return pick(1, most);
  }
};

// An NHWC tensor inside a wider buffer: `extra` spare channels after each pixel and an offset, so
// kernels see channel-strided views; the spare values are NaN so reading them shows up.
struct tensor {
  std::vector<float> storage;
  tensor_view<float> view;
  tensor(random_source& r, shape s, int batch, bool strided, bool fill = true) {
    const int extra = strided ? r.pick(1, 5) : 0;
    const int offset = strided ? r.pick(1, extra) : 0;
    const int stride = s.channels + extra;
    storage.assign(static_cast<std::size_t>(batch) * s.height * s.width * stride + extra,
                   std::numeric_limits<float>::quiet_NaN());
    view = {storage.data() + offset, batch, s.height, s.width, s.channels, stride};
    if (!fill) return;
    const auto values = r.floats(static_cast<std::size_t>(batch) * s.size());
    std::size_t i = 0;
    for_each([&](float& v) { v = values[i++]; });
  }
  template <class F>
  void for_each(F f) {
    for (int n = 0; n < view.batch; ++n)
      for (int y = 0; y < view.height; ++y)
        for (int x = 0; x < view.width; ++x)
          for (int c = 0; c < view.channels; ++c) f(view(n, y, x, c));
  }
  std::vector<float> values() {
    std::vector<float> v;
    for_each([&](float& x) { v.push_back(x); });
    return v;
  }
  // The spare channels still hold NaN: nothing wrote outside the view.
  bool spares_untouched() const {
    std::size_t nan = 0;
    for (float v : storage) nan += v != v ? 1 : 0;
    return nan == storage.size() - static_cast<std::size_t>(view.batch) * view.image_shape().size();
  }
};

layer_spec apply_layer(const auto& layer, shape in) {
  detail::message why;
  const layer_spec spec = layer.apply(in, why);
  REQUIRE(why.view() == "");
  return spec;
}

struct packed_weights {
  simd::packing packing;
  aligned_buffer data;
  std::vector<float> canonical, bias;
  packed_weights(random_source& r, const layer_spec& s) {
    packing = simd::packing_for(s, vec::width, vec::registers);
    canonical = r.floats(s.weight_count());
    bias = r.floats(static_cast<std::size_t>(s.output.channels));
    data = aligned_buffer(packing.floats);
    simd::pack_weights(s, packing, canonical.data(), bias.data(), data.span());
  }
};

// Splits rows [0, total) into `parts` ranges, as the engine does between threads.
template <class F>
void in_parts(int total, int parts, F f) {
  for (int p = 0; p < parts; ++p) f(total * p / parts, total * (p + 1) / parts);
}

// A convolution-like layer through `run` (simd) and reference::conv2d; checks the outputs agree
// and that nothing outside the output view was written.
template <class Run>
void check_conv(random_source& r, const layer_spec& s, int batch, bool with_residual, Run run) {
  tensor in(r, s.input, batch, r.pick(0, 1) == 1);
  tensor res(r, s.output, batch, r.pick(0, 1) == 1);
  tensor out(r, s.output, batch, r.pick(0, 1) == 1, false);
  tensor expect(r, s.output, batch, false, false);
  const packed_weights w(r, s);
  const tensor_view<const float> residual =
      with_residual ? tensor_view<const float>(res.view) : tensor_view<const float>{};
  run(in.view, out.view, residual, w);
  reference::conv2d(in.view, expect.view, w.canonical.data(), w.bias.data(), s, residual);
  CHECK(test::max_relative_error(out.values(), expect.values()) < 1e-5);
  CHECK(out.spares_untouched());
}

}  // namespace

TEST_CASE("simd vector: partial loads and stores touch only their lanes") {
  std::vector<float> src(static_cast<std::size_t>(vec::width)), dst(src.size() + 1);
  for (int n = 0; n <= vec::width; ++n) {
    for (int i = 0; i < vec::width; ++i)
      src[static_cast<std::size_t>(i)] = static_cast<float>(i + 1);
    std::fill(dst.begin(), dst.end(), -1.0f);
    vec::store_first(dst.data(), vec::load_first(src.data(), n), n);
    for (int i = 0; i < vec::width + 1; ++i) {
      CHECK(dst[static_cast<std::size_t>(i)] == (i < n ? static_cast<float>(i + 1) : -1.0f));
    }
  }
}

namespace {
// The scalar oracle of a product: rows of `a` (k_count floats each) times inputs
// [k_begin, k_begin + k_count) of b (k x n, input-major), plus `bias` unless it is null.
std::vector<float> scalar_product(const std::vector<float>& a, int rows,
                                  const std::vector<float>& b, int n, int k_begin, int k_count,
                                  const float* bias) {
  std::vector<float> c(static_cast<std::size_t>(rows * n));
  for (int i = 0; i < rows; ++i)
    for (int o = 0; o < n; ++o) {
      double sum = bias != nullptr ? bias[o] : 0.0;
      for (int j = 0; j < k_count; ++j)
        sum += static_cast<double>(a[static_cast<std::size_t>(i * k_count + j)]) *
               b[static_cast<std::size_t>((k_begin + j) * n + o)];
      c[static_cast<std::size_t>(i * n + o)] = static_cast<float>(sum);
    }
  return c;
}

// b (k x n, input-major) and the bias packed into `layout`.
aligned_buffer pack(const simd::gemm_layout& layout, const std::vector<float>& b,
                    const std::vector<float>& bias) {
  aligned_buffer packed(layout.floats());
  simd::pack_gemm(
      layout, [&](int i, int o) { return b[static_cast<std::size_t>(i * layout.n + o)]; },
      bias.data(), packed.span());
  return packed;
}
}  // namespace

TEST_CASE("simd gemm: every tile shape, both forms, against a scalar product") {
  random_source r(7);
  for (int trial = 0; trial < 80; ++trial) {
    // Every other trial has few outputs, where 16-lane registers take the four-input form.
    const int rows = r.pick(1, 40), k = r.pick(1, 50);
    const int n = trial % 2 == 0 ? r.pick(1, simd::phased_max_outputs) : r.channels(90);
    CAPTURE(rows);
    CAPTURE(k);
    CAPTURE(n);
    const simd::gemm_layout layout =
        simd::gemm_layout_for(k, n, vec::width, vec::registers, trial % 4 != 2);
    CAPTURE(layout.phases);
    const auto a = r.floats(static_cast<std::size_t>(rows * k));
    const auto b = r.floats(static_cast<std::size_t>(k * n));
    const auto bias = r.floats(static_cast<std::size_t>(n));
    const aligned_buffer packed = pack(layout, b, bias);
    std::vector<float> c(static_cast<std::size_t>(rows * n + 1), 7.0f);
    simd::gemm<arch>({.a = a.data(),
                      .a_stride = k,
                      .rows = rows,
                      .packed = packed.data(),
                      .layout = layout,
                      .c = c.data(),
                      .c_stride = n,
                      .n_store = n});
    const std::vector<float> expect = scalar_product(a, rows, b, n, 0, k, bias.data());
    CHECK(c.back() == 7.0f);
    c.pop_back();
    CHECK(test::max_relative_error(c, expect) < 1e-5);
  }
}

TEST_CASE("simd gemm: a slice of the inputs, with or without the bias, sums to the whole") {
  random_source r(8);
  for (int trial = 0; trial < 40; ++trial) {
    const int rows = r.pick(1, 30), k = r.pick(2, 60), n = r.channels(90);
    const int k_begin = r.pick(0, k - 1), k_count = r.pick(0, k - k_begin);
    CAPTURE(rows);
    CAPTURE(k);
    CAPTURE(n);
    CAPTURE(k_begin);
    CAPTURE(k_count);
    const simd::gemm_layout layout = simd::gemm_layout_for(k, n, vec::width, vec::registers, false);
    const auto a = r.floats(static_cast<std::size_t>(rows * k_count + 1));
    const auto b = r.floats(static_cast<std::size_t>(k * n));
    const auto bias = r.floats(static_cast<std::size_t>(n));
    const aligned_buffer packed = pack(layout, b, bias);
    for (const bool with_bias : {true, false}) {
      std::vector<float> c(static_cast<std::size_t>(rows * n));
      simd::gemm<arch>({.a = a.data(),  // row i holds inputs k_begin .. k_begin + k_count - 1
                        .a_stride = k_count,
                        .rows = rows,
                        .packed = packed.data(),
                        .layout = layout,
                        .c = c.data(),
                        .c_stride = n,
                        .n_store = n,
                        .k_begin = k_begin,
                        .k_count = k_count,
                        .bias = with_bias});
      const std::vector<float> expect =
          scalar_product(a, rows, b, n, k_begin, k_count, with_bias ? bias.data() : nullptr);
      CHECK(test::max_relative_error(c, expect) < 1e-5);
    }
  }
}

TEST_CASE("simd gemm: one row with zeros reads only the weights of its other inputs") {
  random_source r(9);
  for (int trial = 0; trial < 60; ++trial) {
    const int k = trial == 0 ? simd::detail::sparse_row_max_inputs + 3 : r.pick(1, 300);
    const int n = r.channels(90);
    // Every third trial a slice of the inputs, as the parts of a block split by channels.
    const bool slice = trial % 3 == 1;
    const int k_begin = slice ? r.pick(0, k - 1) : 0;
    const int k_count = slice ? r.pick(1, k - k_begin) : k;
    const int c_step = r.pick_of({1, 1, 3});
    const activation act = r.pick_of({activation::none, activation::relu, activation::relu6});
    const bool with_residual = r.pick(0, 1) == 1;
    CAPTURE(k);
    CAPTURE(n);
    CAPTURE(k_begin);
    CAPTURE(k_count);
    const simd::gemm_layout layout = simd::gemm_layout_for(k, n, vec::width, vec::registers, false);
    // The row: from none to all of its inputs zero.
    auto a = r.floats(static_cast<std::size_t>(k_count));
    const double zero_share = r.pick_of({0.0, 0.1, 0.3, 0.6, 0.9, 1.0});
    int zeros = 0;
    for (float& x : a) {
      if (std::uniform_real_distribution<double>(0, 1)(r.rng) >= zero_share) continue;
      x = 0.0f;
      ++zeros;
    }
    CAPTURE(zeros);
    const auto b = r.floats(static_cast<std::size_t>(k * n));
    const auto bias = r.floats(static_cast<std::size_t>(n));
    const auto residual = r.floats(static_cast<std::size_t>(n));
    // With a quarter or more zeros, the weights of the zero inputs are NaN: read, they would
    // poison the sums.
    const bool skips = k_count <= simd::detail::sparse_row_max_inputs && zeros >= k_count / 4;
    std::vector<float> packed_b = b;
    for (int j = 0; j < k_count && skips; ++j) {
      if (a[static_cast<std::size_t>(j)] != 0.0f) continue;
      for (int o = 0; o < n; ++o)
        packed_b[static_cast<std::size_t>((k_begin + j) * n + o)] =
            std::numeric_limits<float>::quiet_NaN();
    }
    const aligned_buffer packed = pack(layout, packed_b, bias);
    std::vector<float> expect = scalar_product(a, 1, b, n, k_begin, k_count, bias.data());
    for (int o = 0; o < n; ++o) {
      float& e = expect[static_cast<std::size_t>(o)];
      e = lmnet::activate(e + (with_residual ? residual[static_cast<std::size_t>(o)] : 0.0f), act);
    }
    // Shared out by register blocks, as threads share a dense layer.
    std::vector<float> c(static_cast<std::size_t>(n * c_step), 7.0f);
    const int blocks = layout.blocks(), parts = r.pick(1, 3);
    for (int p = 0; p < parts; ++p) {
      const auto mine = simd::detail::split(blocks, p, parts);
      simd::gemm<arch>({.a = a.data(),
                        .a_stride = k_count,
                        .rows = 1,
                        .packed = packed.data(),
                        .layout = layout,
                        .c = c.data(),
                        .c_stride = n * c_step,
                        .n_store = n,
                        .residual = with_residual ? residual.data() : nullptr,
                        .act = act,
                        .first_vector = mine.begin * layout.block_vectors,
                        .last_vector = mine.end * layout.block_vectors,
                        .c_step = c_step,
                        .k_begin = k_begin,
                        .k_count = k_count});
    }
    std::vector<float> got(static_cast<std::size_t>(n));
    for (int o = 0; o < n; ++o)
      got[static_cast<std::size_t>(o)] = c[static_cast<std::size_t>(o * c_step)];
    CHECK(test::max_relative_error(got, expect) < 1e-5);
  }
}

TEST_CASE("simd pointwise: dense and grouped, residual, activations, views, split rows") {
  random_source r(11);
  for (int trial = 0; trial < 60; ++trial) {
    const int groups = r.pick_of({1, 1, 2, 3, 4});
    const int in_c = groups * r.pick(1, 40), out_c = groups * std::max(1, r.channels() / groups);
    const shape in{r.pick(1, 9), r.pick(1, 9), in_c};
    layer_spec s = apply_layer(lmnet::pointwise_conv2d{.out = out_c, .groups = groups}, in);
    s.act = static_cast<activation>(r.pick(0, 2));
    const int batch = r.pick(1, 3), parts = r.pick(1, 3);
    CAPTURE(trial);
    check_conv(r, s, batch, r.pick(0, 1) == 1, [&](auto x, auto y, auto res, auto& w) {
      in_parts(batch * s.output.height, parts, [&](int q0, int q1) {
        simd::pointwise<arch>(s, x, y, res, w.data.data(), w.packing, q0, q1);
      });
    });
  }
}

TEST_CASE("simd depthwise: 3x3 and 5x5 (and others), strides 1 to 3, padding, 1x1 images") {
  random_source r(13);
  for (int trial = 0; trial < 120; ++trial) {
    const int k = r.pick_of({3, 3, 5, 5, 1, 7});
    const int stride = r.pick_of({1, 2, 1, 2, 3});
    const int padding = r.pick_of({k / 2, k / 2, 0, k - 1});
    const int lo = std::max(1, k - 2 * padding);
    const shape in = trial % 10 == 0
                         ? shape{std::max(1, lo), std::max(1, lo), r.channels()}
                         : shape{r.pick(lo, lo + 12), r.pick(lo, lo + 20), r.channels()};
    layer_spec s =
        apply_layer(lmnet::depthwise_conv2d{.kernel = k, .stride = stride, .padding = padding}, in);
    s.act = static_cast<activation>(r.pick(0, 2));
    const int batch = r.pick(1, 2), parts = r.pick(1, 3);
    CAPTURE(trial);
    CAPTURE(k);
    CAPTURE(stride);
    CAPTURE(padding);
    CAPTURE(in.channels);
    check_conv(r, s, batch, r.pick(0, 3) == 0, [&](auto x, auto y, auto res, auto& w) {
      in_parts(batch * s.output.height, parts,
               [&](int q0, int q1) { simd::depthwise<arch>(s, x, y, res, w.data.data(), q0, q1); });
    });
  }
}

TEST_CASE("simd conv2d: kernels, strides, padding, groups, residual") {
  random_source r(17);
  for (int trial = 0; trial < 50; ++trial) {
    const int groups = r.pick_of({1, 1, 1, 2, 3});
    const int kh = r.pick_of({1, 3, 5, 2}), kw = r.pick(0, 3) == 0 ? r.pick(1, 4) : kh;
    const extent2 stride{r.pick(1, 3), r.pick(1, 2)};
    const extent2 padding{r.pick(0, kh - 1), r.pick(0, kw - 1)};
    const shape in{r.pick(kh, kh + 10), r.pick(kw, kw + 12), groups * r.pick(1, 9)};
    layer_spec s = apply_layer(lmnet::conv2d{.out = groups * r.pick(1, 24),
                                             .kernel = {kh, kw},
                                             .stride = stride,
                                             .padding = padding,
                                             .groups = groups},
                               in);
    s.act = static_cast<activation>(r.pick(0, 2));
    const int batch = r.pick(1, 2), parts = r.pick(1, 3);
    CAPTURE(trial);
    const std::size_t scratch_floats = simd::conv2d_scratch_floats(s);
    aligned_buffer scratch(scratch_floats);
    check_conv(r, s, batch, r.pick(0, 2) == 0, [&](auto x, auto y, auto res, auto& w) {
      in_parts(batch * s.output.height, parts, [&](int q0, int q1) {
        simd::conv2d<arch>(s, x, y, res, w.data.data(), w.packing, q0, q1, scratch.data());
      });
    });
  }
}

TEST_CASE("simd dense: flattened inputs, channel slices, output shared between parts") {
  random_source r(19);
  for (int trial = 0; trial < 30; ++trial) {
    const shape in{r.pick(1, 3), r.pick(1, 3), r.channels(40)};
    const layer_spec s = apply_layer(lmnet::dense{.out = r.channels(90)}, in);
    const int batch = r.pick(1, 4), parts = r.pick(1, 3);
    CAPTURE(trial);
    tensor x(r, in, batch, r.pick(0, 1) == 1);
    tensor y(r, s.output, batch, r.pick(0, 1) == 1, false);
    tensor expect(r, s.output, batch, false, false);
    const packed_weights w(r, s);
    aligned_buffer scratch(simd::dense_scratch_floats(s));
    const int blocks = simd::dense_blocks(w.packing);
    for (int p = 0; p < parts; ++p) {
      const auto mine = simd::detail::split(blocks, p, parts);
      simd::dense<arch>(s, x.view, y.view, w.data.data(), w.packing, 0, batch, mine.begin, mine.end,
                        scratch.data());
    }
    reference::dense(x.view, expect.view, w.canonical.data(), w.bias.data(), s);
    CHECK(test::max_relative_error(y.values(), expect.values()) < 1e-5);
    CHECK(y.spares_untouched());
  }
}

TEST_CASE("simd pooling, elementwise, concat, shuffle and softmax") {
  random_source r(23);
  for (int trial = 0; trial < 30; ++trial) {
    const shape in{r.pick(1, 9), r.pick(1, 9), r.channels(40)};
    const int batch = r.pick(1, 3);
    CAPTURE(trial);
    tensor x(r, in, batch, r.pick(0, 1) == 1), z(r, in, batch, r.pick(0, 1) == 1);
    const int rows = batch * in.height;

    const int k = r.pick(1, std::min(3, std::min(in.height, in.width)));
    const layer_spec pool = apply_layer(
        lmnet::max_pool2d{.kernel = k, .stride = r.pick(1, 2), .padding = r.pick(0, k / 2)}, in);
    tensor pooled(r, pool.output, batch, r.pick(0, 1) == 1, false),
        pooled_ref(r, pool.output, batch, false, false);
    in_parts(batch * pool.output.height, 2,
             [&](int q0, int q1) { simd::max_pool2d<arch>(x.view, pooled.view, pool, q0, q1); });
    reference::max_pool2d(x.view, pooled_ref.view, pool);
    CHECK(pooled.values() == pooled_ref.values());

    tensor mean(r, {1, 1, in.channels}, batch, r.pick(0, 1) == 1, false),
        mean_ref(r, {1, 1, in.channels}, batch, false, false);
    simd::global_avg_pool<arch>(x.view, mean.view, 0, batch);
    reference::global_avg_pool(x.view, mean_ref.view);
    CHECK(test::max_relative_error(mean.values(), mean_ref.values()) < 1e-5);

    const auto act = static_cast<activation>(r.pick(0, 2));
    tensor sum(r, in, batch, true, false), sum_ref(r, in, batch, false, false);
    in_parts(rows, 3,
             [&](int q0, int q1) { simd::add<arch>(x.view, z.view, sum.view, act, q0, q1); });
    reference::add(x.view, z.view, sum_ref.view, act);
    CHECK(sum.values() == sum_ref.values());
    CHECK(sum.spares_untouched());
    simd::apply_activation<arch>(x.view, sum.view, act, 0, rows);
    reference::apply_activation(x.view, sum_ref.view, act);
    CHECK(sum.values() == sum_ref.values());

    tensor joined(r, {in.height, in.width, 2 * in.channels}, batch, r.pick(0, 1) == 1, false),
        joined_ref(r, {in.height, in.width, 2 * in.channels}, batch, false, false);
    const tensor_view<const float> parts_in[2] = {x.view, z.view};
    in_parts(rows, 2, [&](int q0, int q1) { simd::concat(parts_in, joined.view, q0, q1); });
    reference::concat(parts_in, joined_ref.view);
    CHECK(joined.values() == joined_ref.values());

    const int groups = r.pick_of({1, 2});
    tensor shuffled(r, joined.view.image_shape(), batch, r.pick(0, 1) == 1, false),
        shuffled_ref(r, joined.view.image_shape(), batch, false, false);
    simd::channel_shuffle(joined.view, shuffled.view, groups, 0, rows);
    reference::channel_shuffle(joined.view, shuffled_ref.view, groups);
    CHECK(shuffled.values() == shuffled_ref.values());

    tensor probs(r, in, batch, r.pick(0, 1) == 1, false), probs_ref(r, in, batch, false, false);
    simd::softmax(x.view, probs.view, 0, rows);
    reference::softmax(x.view, probs_ref.view);
    CHECK(test::max_relative_error(probs.values(), probs_ref.values()) < 1e-5);
  }
}

TEST_CASE("simd shuffled stores: a pointwise and a copy written straight into a shuffle's output") {
  random_source r(29);
  for (int trial = 0; trial < 30; ++trial) {
    const int groups = r.pick_of({2, 2, 3});
    const int per_group = r.channels(40);
    const shape in{r.pick(1, 7), r.pick(1, 7), r.channels(30)};
    layer_spec s = apply_layer(lmnet::pointwise_conv2d{.out = per_group}, in);
    s.act = static_cast<activation>(r.pick(0, 2));
    const int batch = r.pick(1, 2), rows = batch * in.height;
    CAPTURE(trial);
    CAPTURE(per_group);
    // Inputs of the concat: the pointwise's output (last) and copies of random tensors.
    tensor x(r, in, batch, r.pick(0, 1) == 1);
    const packed_weights w(r, s);
    std::vector<tensor> copied;
    for (int i = 0; i + 1 < groups; ++i) {
      copied.emplace_back(r, shape{in.height, in.width, per_group}, batch, r.pick(0, 1) == 1);
    }
    tensor produced(r, s.output, batch, false, false);
    reference::conv2d(x.view, produced.view, w.canonical.data(), w.bias.data(), s, {});
    const shape joined{in.height, in.width, groups * per_group};
    tensor out(r, joined, batch, r.pick(0, 1) == 1, false);
    for (int i = 0; i + 1 < groups; ++i) {
      tensor_view<float> slot = out.view;
      slot.data += i;
      slot.channels = per_group;
      in_parts(rows, 2, [&](int q0, int q1) {
        simd::strided_copy<arch>(copied[static_cast<std::size_t>(i)].view, slot, groups, q0, q1);
      });
    }
    tensor_view<float> slot = out.view;
    slot.data += groups - 1;
    slot.channels = per_group;
    in_parts(rows, 3, [&](int q0, int q1) {
      simd::pointwise<arch>(s, x.view, slot, {}, w.data.data(), w.packing, q0, q1, groups);
    });
    // The reference: concat, then shuffle.
    tensor cat(r, joined, batch, false, false), expect(r, joined, batch, false, false);
    std::vector<tensor_view<const float>> parts;
    for (tensor& c : copied) parts.push_back(c.view);
    parts.push_back(produced.view);
    reference::concat(parts, cat.view);
    reference::channel_shuffle(cat.view, expect.view, groups);
    CHECK(test::max_relative_error(out.values(), expect.values()) < 1e-5);
    CHECK(out.spares_untouched());
  }
}

// SPDX-License-Identifier: Apache-2.0
// oneDNN called directly on the layers of bench/layer_cases.hpp (NHWC activations, weights in
// the layout the primitive prefers, reordered once, activation as a post-op): the per-layer peer
// of bench_simd's layer/... benchmarks. Thread count: OMP_NUM_THREADS.
#include "layer_cases.hpp"

#include <benchmark/benchmark.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <unordered_map>
#include <vector>

namespace {

using namespace lmnet;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

std::vector<float> random_floats(std::size_t n) {
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = d(rng);
  return v;
}

dnnl::primitive_attr activation_attr(activation act) {
  dnnl::post_ops po;
  if (act == activation::relu) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
  if (act == activation::relu6) po.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  return attr;
}

void run_layer(benchmark::State& state, const bench::layer_case& c) {
  const dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream stream(eng);
  const layer_spec& s = c.spec;
  const auto in_values = random_floats(s.input.size());
  const auto w_values = random_floats(s.weight_count());
  const auto b_values = random_floats(static_cast<std::size_t>(s.output.channels));
  std::vector<float> out_values(s.output.size());
  const dnnl::memory::dim o = s.output.channels;
  dnnl::primitive prim;
  std::unordered_map<int, dnnl::memory> args;
  dnnl::memory::desc user_w;
  if (s.kind == op::dense) {
    const dnnl::memory::dim k = static_cast<dnnl::memory::dim>(s.input.size());
    const dnnl::memory::desc src({1, k}, dt::f32, tag::nc), dst({1, o}, dt::f32, tag::nc);
    const dnnl::memory::desc w({o, k}, dt::f32, tag::any), b({o}, dt::f32, tag::x);
    user_w = dnnl::memory::desc({o, k}, dt::f32, tag::oi);
    const dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_inference, src, w, b, dst);
    const dnnl::inner_product_forward::primitive_desc pd(d, activation_attr(s.act), eng);
    prim = dnnl::inner_product_forward(pd);
    args[DNNL_ARG_SRC] = dnnl::memory(src, eng, const_cast<float*>(in_values.data()));
    args[DNNL_ARG_DST] = dnnl::memory(dst, eng, out_values.data());
    args[DNNL_ARG_WEIGHTS] = dnnl::memory(pd.weights_desc(), eng);
    state.SetLabel(pd.impl_info_str());
  } else {
    const dnnl::memory::dim g = s.groups, ci = s.input.channels, kh = s.kernel.height,
                            kw = s.kernel.width;
    const dnnl::memory::desc src({1, ci, s.input.height, s.input.width}, dt::f32, tag::nhwc);
    const dnnl::memory::desc dst({1, o, s.output.height, s.output.width}, dt::f32, tag::nhwc);
    const dnnl::memory::dims w_dims =
        g > 1 ? dnnl::memory::dims{g, o / g, ci / g, kh, kw} : dnnl::memory::dims{o, ci, kh, kw};
    const dnnl::memory::desc w(w_dims, dt::f32, tag::any), b({o}, dt::f32, tag::x);
    user_w = dnnl::memory::desc(w_dims, dt::f32, g > 1 ? tag::gohwi : tag::ohwi);
    auto pad_after = [](int in, int out, int k, int stride, int pad) {
      return static_cast<dnnl::memory::dim>((out - 1) * stride + k - in - pad);
    };
    const dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src, w, b, dst,
        {s.stride.height, s.stride.width}, {s.padding.height, s.padding.width},
        {pad_after(s.input.height, s.output.height, s.kernel.height, s.stride.height,
                   s.padding.height),
         pad_after(s.input.width, s.output.width, s.kernel.width, s.stride.width,
                   s.padding.width)});
    const dnnl::convolution_forward::primitive_desc pd(d, activation_attr(s.act), eng);
    prim = dnnl::convolution_forward(pd);
    args[DNNL_ARG_SRC] = dnnl::memory(src, eng, const_cast<float*>(in_values.data()));
    args[DNNL_ARG_DST] = dnnl::memory(dst, eng, out_values.data());
    args[DNNL_ARG_WEIGHTS] = dnnl::memory(pd.weights_desc(), eng);
    state.SetLabel(pd.impl_info_str());
  }
  // lmnet's canonical weights are (O, KH, KW, I/g): ohwi / gohwi, oi for dense.
  dnnl::memory user(user_w, eng, const_cast<float*>(w_values.data()));
  dnnl::reorder(user, args[DNNL_ARG_WEIGHTS]).execute(stream, user, args[DNNL_ARG_WEIGHTS]);
  args[DNNL_ARG_BIAS] = dnnl::memory(dnnl::memory::desc({o}, dt::f32, tag::x), eng,
                                     const_cast<float*>(b_values.data()));
  stream.wait();
  for (auto _ : state) {
    prim.execute(stream, args);
    stream.wait();
  }
  state.counters["GFLOP/s"] =
      benchmark::Counter(c.flops() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GB/s"] =
      benchmark::Counter(c.bytes() * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

}  // namespace

int main(int argc, char** argv) {
  for (const bench::layer_case& c : bench::layer_cases()) {
    benchmark::RegisterBenchmark((c.name() + "/onednn").c_str(), [c](benchmark::State& state) {
      run_layer(state, c);
    })->Unit(benchmark::kMicrosecond);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

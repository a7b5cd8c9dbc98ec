// SPDX-License-Identifier: Apache-2.0
// What a native whole-network peer's benchmark binary shares: one Google Benchmark case per
// network and thread count (network/<model>/<HxW>/threads:<n>, as bench_simd names lmnet's), and
// an agreement mode (--agreement) that runs each network once and prints one JSON line per case
// with the peer's largest difference from lmnet's output, or why the peer cannot run it.
//
// A peer is a class template over the network description, constructed from the folded weights
// and a thread count (an int8 peer takes its quant params from bench::int8_quantization), with
// `std::span<const float> run(const float* image)`; it throws bench::unsupported, saying why, for a
// network it cannot express.
#pragma once

#include "network_cases.hpp"

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>
#include <span>
#include <stdexcept>
#include <string>

namespace lmnet::bench {

struct unsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c == '\n' ? ' ' : c;
  }
  return out + "\"";
}

/// An int8 peer's output against lmnet's fp32 (max_rel_err, top1_same) and int8 outputs
/// (max_rel_err_int8), as JSON fields; unsupported when it is further than `int8_tolerance` from
/// both (tools/peers/run.py applies the same rule to the Python int8 peers).
inline constexpr double int8_tolerance = 0.5;
inline std::string int8_agreement(std::span<const float> out, std::span<const float> fp32,
                                  std::span<const float> int8) {
  const double to_fp32 = max_relative_error(out, fp32), to_int8 = max_relative_error(out, int8);
  const bool top1 = std::max_element(out.begin(), out.end()) - out.begin() ==
                    std::max_element(fp32.begin(), fp32.end()) - fp32.begin();
  char text[160];
  if (!(std::min(to_fp32, to_int8) <= int8_tolerance)) {
    std::snprintf(text, sizeof text,
                  "its int8 output is not the network's (max_rel_err %.2f > %g from both lmnet's "
                  "fp32 and int8 outputs)",
                  std::min(to_fp32, to_int8), int8_tolerance);
    throw unsupported(text);
  }
  std::snprintf(text, sizeof text,
                "\"max_rel_err\": %.3e, \"top1_same\": %d, \"max_rel_err_int8\": %.3e", to_fp32,
                top1 ? 1 : 0, to_int8);
  return text;
}

/// The benchmark binary of a peer; `int8`: the peer runs the int8 case (its agreement as
/// int8_agreement, its benchmarks named network_int8/...).
template <template <const auto&> class Peer>
int network_peer_main(const char* peer, const std::string& version, int argc, char** argv,
                      bool int8 = false) {
  bool agreement = false;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--agreement") == 0) {
      agreement = true;
    } else {
      argv[kept++] = argv[i];
    }
  }
  argc = kept;
  if (agreement) {
    for_each_network([&]<const auto & Net>(const char* model, int size) {
      const aligned_buffer image = network_input(plan_of<Net>.input_shape().size());
      const std::vector<float> expected = lmnet_output<Net>(image.span());
      const std::vector<float> expected_int8 =
          int8 ? lmnet_int8_output<Net>(image.span()) : std::vector<float>{};
      const aligned_buffer folded = folded_weights<Net>();
      for (int threads : {1, 2}) {
        std::string result;
        try {
          Peer<Net> p(folded.span(), threads);
          const std::span<const float> out = p.run(image.data());
          if (out.size() != expected.size()) {
            throw unsupported("the output has " + std::to_string(out.size()) + " values, lmnet's " +
                              std::to_string(expected.size()));
          }
          if (int8) {
            result = int8_agreement(out, expected, expected_int8);
          } else {
            char text[64];
            std::snprintf(text, sizeof text, "%.3e", max_relative_error(out, expected));
            result = "\"max_rel_err\": " + std::string(text);
          }
        } catch (const std::exception& e) {
          result = "\"skipped\": " + json_string(e.what());
        }
        std::printf(
            "{\"peer\": %s, \"version\": %s, \"model\": %s, \"size\": %d, \"threads\": %d, %s}\n",
            json_string(peer).c_str(), json_string(version).c_str(), json_string(model).c_str(),
            size, threads, result.c_str());
        std::fflush(stdout);
      }
    });
    return 0;
  }
  for_each_network([&]<const auto & Net>(const char* model, int size) {
    for (int threads : {1, 2}) {
      benchmark::RegisterBenchmark((network_name(model, size, int8 ? "network_int8" : "network") +
                                    "/threads:" + std::to_string(threads))
                                       .c_str(),
                                   [threads](benchmark::State& state) {
                                     const aligned_buffer image =
                                         network_input(plan_of<Net>.input_shape().size());
                                     try {
                                       Peer<Net> p(folded_weights<Net>().span(), threads);
                                       for (auto _ : state)
                                         benchmark::DoNotOptimize(p.run(image.data()).data());
                                     } catch (const std::exception& e) {
                                       state.SkipWithError(e.what());
                                     }
                                   })
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  });
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace lmnet::bench

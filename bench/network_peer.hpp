// SPDX-License-Identifier: Apache-2.0
// What a native whole-network peer's benchmark binary shares: one Google Benchmark case per
// network and thread count (network/<model>/<HxW>/threads:<n>, as bench_simd names lmnet's), and
// an agreement mode (--agreement) that runs each network once and prints one JSON line per case
// with the peer's largest difference from lmnet's output, or why the peer cannot run it.
//
// A peer is a class template over the network description, constructed from the folded weights
// and a thread count, with `std::span<const float> run(const float* image)`; it throws
// bench::unsupported, saying why, for a network it cannot express.
#pragma once

#include "network_cases.hpp"

#include <benchmark/benchmark.h>

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

template <template <const auto&> class Peer>
int network_peer_main(const char* peer, const std::string& version, int argc, char** argv) {
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
          char text[64];
          std::snprintf(text, sizeof text, "%.3e", max_relative_error(out, expected));
          result = "\"max_rel_err\": " + std::string(text);
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
      benchmark::RegisterBenchmark(
          (network_name(model, size) + "/threads:" + std::to_string(threads)).c_str(),
          [threads](benchmark::State& state) {
            const aligned_buffer image = network_input(plan_of<Net>.input_shape().size());
            try {
              Peer<Net> p(folded_weights<Net>().span(), threads);
              for (auto _ : state) benchmark::DoNotOptimize(p.run(image.data()).data());
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

// SPDX-License-Identifier: Apache-2.0
// lmnet_fashion_mnist: classifies Fashion-MNIST test images with a trained model through lmnet's
// reference backend (or the simd one), reading the dataset with the C++ reader
// (support/fashion_mnist.hpp).
// tools/check_accuracy.py compares its logits and predictions with PyTorch's.
//
//   lmnet_fashion_mnist <model> <weights.safetensors> [--data DIR] [--first N] [--count N]
//                       [--threads N] [--backend reference|simd|int8|int8-reference]
//                       [--logits FILE] [--inputs FILE]
//
// The int8 backends read a calibrated file (lmnet_quantize).
//
// Prints "<model> images=N correct=C accuracy=A seconds=S". --logits writes the N x 10 logits,
// --inputs the preprocessed N x 32 x 32 images (float32), both in this machine's byte order.
#include "classify.hpp"
#include "fashion_mnist.hpp"
#include "fashion_mnist_models.hpp"

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

void write_floats(const std::string& path, const std::vector<float>& values) {
  if (path.empty()) return;
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
  if (!out) throw std::runtime_error("cannot write '" + path + "'");
}

int usage() {
  std::fprintf(
      stderr,
      "usage: lmnet_fashion_mnist <model> <weights.safetensors> [--data DIR] [--first N] "
      "[--count N] [--threads N] [--backend reference|simd|int8|int8-reference] [--logits FILE] "
      "[--inputs FILE]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string name = argv[1], weights = argv[2];
  std::string data(fashion_mnist::default_root), logits_path, inputs_path, backend = "reference";
  std::size_t first = 0, count = 0;  // 0: to the end
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    const char* value = argv[++i];
    if (arg == "--data") {
      data = value;
    } else if (arg == "--first") {
      first = std::strtoull(value, nullptr, 10);
    } else if (arg == "--count") {
      count = std::strtoull(value, nullptr, 10);
    } else if (arg == "--threads") {
      threads = std::max(1, std::atoi(value));
    } else if (arg == "--backend" &&
               (value == std::string("reference") || value == std::string("simd") ||
                value == std::string("int8") || value == std::string("int8-reference"))) {
      backend = value;
    } else if (arg == "--logits") {
      logits_path = value;
    } else if (arg == "--inputs") {
      inputs_path = value;
    } else {
      return usage();
    }
  }

  try {
    const fashion_mnist::dataset test = fashion_mnist::load("t10k", data);
    if (first > test.count) throw std::runtime_error("--first is past the test set");
    if (count == 0 || first + count > test.count) count = test.count - first;
    const std::vector<float> inputs = fashion_mnist::preprocess(test, first, count);
    const bool known = fashion_mnist::with_model(
        name, [&]<const auto & Net>() {
          auto run = [&]<class Backend>() {
            return examples::classify<Net, Backend>(lmnet::safetensors(weights), inputs, count,
                                                    threads);
          };
          using lmnet::backend::int8;
          const auto result = backend == "simd" ? run.template operator()<lmnet::backend::simd<>>()
                              : backend == "int8"
                                  ? run.template operator()<int8<lmnet::backend::simd<>>>()
                              : backend == "int8-reference"
                                  ? run.template operator()<int8<lmnet::backend::reference>>()
                                  : run.template operator()<lmnet::backend::reference>();
          std::size_t correct = 0;
          for (std::size_t i = 0; i < count; ++i)
            correct += result.predictions[i] == test.labels[first + i];
          std::printf(
              "%s images=%zu correct=%zu accuracy=%.4f seconds=%.2f threads=%d backend=%s\n",
              name.c_str(), count, correct,
              static_cast<double>(correct) / static_cast<double>(count), result.seconds,
              result.threads, backend.c_str());
          write_floats(logits_path, result.logits);
        });
    if (!known) {
      std::fprintf(stderr, "lmnet_fashion_mnist: unknown model '%s'\n", name.c_str());
      return 2;
    }
    write_floats(inputs_path, inputs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmnet_fashion_mnist: %s\n", e.what());
    return 1;
  }
}

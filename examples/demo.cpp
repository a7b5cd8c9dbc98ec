// SPDX-License-Identifier: Apache-2.0
// ./scripts/demo: classifies the Fashion-MNIST test set with the committed L-Mobilenet weights
// through lmnet, beside MobileNetV2-CIFAR: accuracy, images per second, parameters and MACs. No
// training and no Python: the weights are safetensors files written by tools/train.py.
//
//   lmnet_demo [--weights DIR] [--data DIR] [--threads N] [--subset N | --all]
#include "classify.hpp"
#include "fashion_mnist.hpp"
#include "fashion_mnist_models.hpp"

#include <lmnet/lmnet.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

// The backend every model of the demo runs on: this line is all a switch takes.
using backend = lmnet::backend::reference;
constexpr const char* backend_name = "reference";

struct row {
  std::size_t images;
  double accuracy, images_per_second;
  std::string trained_accuracy;
  std::vector<bool> hits;  // image i classified correctly
};

// Accuracy over the first `count` images.
double accuracy(const std::vector<bool>& hits, std::size_t count) {
  std::size_t correct = 0;
  for (std::size_t i = 0; i < count; ++i) correct += hits[i];
  return static_cast<double>(correct) / static_cast<double>(count);
}

template <const auto& Net>
row evaluate(const std::string& weights, const fashion_mnist::dataset& test, std::size_t count,
             int threads) {
  lmnet::safetensors file(weights);
  const auto meta = file.metadata().find("test_accuracy");
  const std::string trained = meta == file.metadata().end() ? "?" : meta->second;
  const std::vector<float> inputs = fashion_mnist::preprocess(test, 0, count);
  const auto result = examples::classify<Net, backend>(file, inputs, count, threads);
  std::vector<bool> hits(count);
  for (std::size_t i = 0; i < count; ++i) hits[i] = result.predictions[i] == test.labels[i];
  return {count, accuracy(hits, count), static_cast<double>(count) / result.seconds, trained,
          std::move(hits)};
}

template <const auto& Net>
void print(const char* name, const row& r, bool subset) {
  constexpr auto& plan = lmnet::plan_of<Net>;
  std::printf("%-20s %10zu %12zu %7zu%s %8.2f%% %10.1f   %s\n", name, plan.params(), plan.macs(),
              r.images, subset ? "*" : " ", 100.0 * r.accuracy, r.images_per_second,
              r.trained_accuracy.c_str());
}

int usage() {
  std::fprintf(
      stderr,
      "usage: lmnet_demo [--weights DIR] [--data DIR] [--threads N] [--subset N | --all]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string weights = "examples/weights/fashion_mnist", data(fashion_mnist::default_root);
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::size_t subset = 1000;  // MobileNetV2-CIFAR images: the reference backend is slow on it
  bool all = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--weights" && has_value) {
      weights = argv[++i];
    } else if (arg == "--data" && has_value) {
      data = argv[++i];
    } else if (arg == "--threads" && has_value) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--subset" && has_value) {
      subset = static_cast<std::size_t>(std::max(1, std::atoi(argv[++i])));
    } else if (arg == "--all") {
      all = true;
    } else {
      return usage();
    }
  }

  try {
    const fashion_mnist::dataset test = fashion_mnist::load("t10k", data);
    subset = all ? test.count : std::min(subset, test.count);
    std::printf(
        "Fashion-MNIST test set (%zu images, 28x28 grey padded to 32x32), weights from %s/\n",
        test.count, weights.c_str());
    std::printf("lmnet %s backend, %d threads, batch 16\n\n", backend_name, threads);
    std::printf("%-20s %10s %12s %8s %9s %10s   %s\n", "model", "params", "MACs", "images",
                "accuracy", "images/s", "PyTorch test accuracy (training)");

    const row l = evaluate<fashion_mnist::l_mobilenet>(weights + "/l_mobilenet.safetensors", test,
                                                       test.count, threads);
    print<fashion_mnist::l_mobilenet>("l_mobilenet", l, false);
    const row m = evaluate<fashion_mnist::mobilenet_v2_cifar>(
        weights + "/mobilenet_v2_cifar.safetensors", test, subset, threads);
    print<fashion_mnist::mobilenet_v2_cifar>("mobilenet_v2_cifar", m, subset < test.count);
    if (subset < test.count) {
      std::printf(
          "* the first %zu test images only (the reference backend is slow on "
          "MobileNetV2; --all runs the full set);\n  l_mobilenet on the same images: "
          "%.2f%%\n",
          subset, 100.0 * accuracy(l.hits, subset));
    }

    constexpr auto& lp = lmnet::plan_of<fashion_mnist::l_mobilenet>;
    constexpr auto& mp = lmnet::plan_of<fashion_mnist::mobilenet_v2_cifar>;
    std::printf(
        "\nL-Mobilenet: %.1fx fewer parameters, %.1fx fewer MACs, %.1fx the images per second\n",
        static_cast<double>(mp.params()) / static_cast<double>(lp.params()),
        static_cast<double>(mp.macs()) / static_cast<double>(lp.macs()),
        l.images_per_second / m.images_per_second);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmnet_demo: %s\n", e.what());
    return 1;
  }
}

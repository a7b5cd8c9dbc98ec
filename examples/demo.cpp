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

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace {

// The backend every model of the demo runs on: switching backends is this one line.
using backend = lmnet::backend::reference;
constexpr const char* backend_name = "reference";

struct result {
  std::size_t images;
  double images_per_second;
  double trained_accuracy;  // PyTorch's on the whole test set (file metadata); negative if unknown
  std::vector<bool> hits;   // image i classified correctly
};

// Accuracy over the first `count` images.
double accuracy(const std::vector<bool>& hits, std::size_t count) {
  return static_cast<double>(
             std::count(hits.begin(), hits.begin() + static_cast<std::ptrdiff_t>(count), true)) /
         static_cast<double>(count);
}

template <const auto& Net>
result evaluate(const std::string& weights, const fashion_mnist::dataset& test, std::size_t count,
                int threads) {
  lmnet::safetensors file(weights);
  const auto meta = file.metadata().find("test_accuracy");  // written by tools/train.py
  const double trained = meta == file.metadata().end() ? -1.0 : std::atof(meta->second.c_str());
  const std::vector<float> inputs = fashion_mnist::preprocess(test, 0, count);
  const auto run = examples::classify<Net, backend>(file, inputs, count, threads);
  std::vector<bool> hits(count);
  for (std::size_t i = 0; i < count; ++i) hits[i] = run.predictions[i] == test.labels[i];
  return {count, static_cast<double>(count) / run.seconds, trained, std::move(hits)};
}

template <const auto& Net>
void print(const char* name, const result& r, bool subset) {
  constexpr auto& plan = lmnet::plan_of<Net>;
  char trained[16] = "-";
  if (r.trained_accuracy >= 0) {
    std::snprintf(trained, sizeof trained, "%.2f%%", 100.0 * r.trained_accuracy);
  }
  std::printf("%-20s %10zu %12zu %7zu%s %9.2f%% %9s %10.1f\n", name, plan.params(), plan.macs(),
              r.images, subset ? "*" : " ", 100.0 * accuracy(r.hits, r.images), trained,
              r.images_per_second);
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
  std::size_t subset = 1000;  // MobileNetV2-CIFAR's images: the reference backend is slow on it
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
    std::printf("Fashion-MNIST test set: %zu images, 28x28 grey padded to 32x32; weights: %s/\n",
                test.count, weights.c_str());
    std::printf("lmnet %s backend, %d threads, batch 16\n\n", backend_name, threads);
    std::printf("%-20s %10s %12s %8s %10s %9s %10s\n", "model", "params", "MACs", "images",
                "accuracy", "PyTorch", "images/s");

    const result l = evaluate<fashion_mnist::l_mobilenet>(weights + "/l_mobilenet.safetensors",
                                                          test, test.count, threads);
    print<fashion_mnist::l_mobilenet>("l_mobilenet", l, false);
    const result m = evaluate<fashion_mnist::mobilenet_v2_cifar>(
        weights + "/mobilenet_v2_cifar.safetensors", test, subset, threads);
    print<fashion_mnist::mobilenet_v2_cifar>("mobilenet_v2_cifar", m, subset < test.count);

    std::printf("\naccuracy: lmnet's; PyTorch: tools/train.py's on the whole test set\n");
    if (subset < test.count) {
      std::printf(
          "* the first %zu test images only (the reference backend is slow on MobileNetV2; "
          "--all runs them all);\n  l_mobilenet on the same %zu images: %.2f%%\n",
          subset, subset, 100.0 * accuracy(l.hits, subset));
    }
    constexpr auto& lp = lmnet::plan_of<fashion_mnist::l_mobilenet>;
    constexpr auto& mp = lmnet::plan_of<fashion_mnist::mobilenet_v2_cifar>;
    std::printf(
        "L-Mobilenet: %.1fx fewer parameters, %.1fx fewer MACs, %.1fx the images per second\n",
        static_cast<double>(mp.params()) / static_cast<double>(lp.params()),
        static_cast<double>(mp.macs()) / static_cast<double>(lp.macs()),
        l.images_per_second / m.images_per_second);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmnet_demo: %s\n", e.what());
    return 1;
  }
}

// SPDX-License-Identifier: Apache-2.0
// ./scripts/demo: the whole mission on the Fashion-MNIST test set, with the committed weights
// (safetensors files written by tools/train.py; no training and no Python):
// 1. the trained L-Mobilenet beside MobileNetV2-CIFAR: accuracy, images per second, parameters,
//    MACs;
// 2. the two in a dual cascade (MobileNetV2 asked only when L-Mobilenet is unsure, its threshold
//    calibrated on the validation split) behind a result cache, streamed one image at a time over
//    the test set and over its duplicated copy: accuracy, and the time saved against MobileNetV2
//    alone;
// 3. where L-Mobilenet spends its time, step by step (lmnet::profile).
//
//   lmnet_demo [--weights DIR] [--data DIR] [--threads N] [--subset N]
#include "classify.hpp"
#include "datasets.hpp"  // tools/cascade/: the validation split and the duplicated test set
#include "fashion_mnist.hpp"
#include "fashion_mnist_models.hpp"

#include <lmnet/backend/simd.hpp>
#include <lmnet/lmnet.hpp>
#include <lmnet/profile.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

// The backend every model of the demo runs on: switching backends is this one line.
using backend = lmnet::backend::simd<>;
constexpr const char* backend_name = "simd";

struct result {
  std::size_t images;
  double images_per_second;
  double trained_accuracy;  // PyTorch's on the whole test set (file metadata); negative if unknown
  std::vector<bool> hits;   // image i classified correctly
};

double accuracy(const std::vector<bool>& hits) {
  return static_cast<double>(std::count(hits.begin(), hits.end(), true)) /
         static_cast<double>(hits.size());
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
              r.images, subset ? "*" : " ", 100.0 * accuracy(r.hits), trained, r.images_per_second);
}

// Runs f(thread, index) for indices [0, count), index i on thread i % threads, and returns the
// process CPU seconds it took (CPU time: other processes on a shared machine do not count).
template <class F>
double cpu_seconds_of(std::size_t count, int threads, F&& f) {
  const std::clock_t start = std::clock();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (std::size_t i = static_cast<std::size_t>(t); i < count; i += threads) f(t, i);
    });
  }
  for (std::size_t i = 0; i < count; i += static_cast<std::size_t>(threads)) f(0, i);
  for (std::thread& thread : pool) thread.join();
  return static_cast<double>(std::clock() - start) / CLOCKS_PER_SEC;
}

// The canonical folded weights of `Net` from a safetensors file, bound once for every model.
template <const auto& Net>
lmnet::aligned_buffer folded_weights(const std::string& path) {
  lmnet::aligned_buffer folded(lmnet::plan_of<Net>.weight_floats);
  lmnet::safetensors file(path);
  lmnet::bind_weights(lmnet::plan_of<Net>, file, folded.span());
  return folded;
}

using small_model = lmnet::model<fashion_mnist::l_mobilenet, backend>;
using large_model = lmnet::model<fashion_mnist::mobilenet_v2_cifar, backend>;

struct stream_result {
  double accuracy = 0, second_rate = 0, hit_rate = 0, cpu_ms_per_image = 0;
};

// Streams `images` one at a time through L-Mobilenet, then MobileNetV2 when the top-2 margin of
// L-Mobilenet's softmax is below `threshold` (keeping the surer answer), behind a perceptual result
// cache shared by `threads` threads (image i on thread i % threads, so the stream keeps its order).
stream_result stream_cascade(const lmnet::tools::image_set& images,
                             const lmnet::aligned_buffer& small, const lmnet::aligned_buffer& large,
                             float threshold, int threads) {
  using memory_type = lmnet::result_cache<lmnet::prediction, lmnet::perceptual_key>;
  memory_type memory({.capacity = 32768, .radius = 6, .max_thumbnail_distance = 3.0f});
  // A thread's models, its cascade of the two, and the cascade behind the shared cache.
  struct worker {
    worker(const lmnet::aligned_buffer& small_weights, const lmnet::aligned_buffer& large_weights,
           float threshold, memory_type& memory)
        : dual(first, second, lmnet::threshold_rule{lmnet::score::margin, threshold},
               {.post_check = true}),
          classifier(dual, memory, lmnet::perceptual_key_of{28, 28, 1, {.dead_zone = 4.0f}}) {
      first.load_folded(small_weights.span());
      second.load_folded(large_weights.span());
    }
    small_model first{1};
    large_model second{1};
    lmnet::cascade<small_model, large_model> dual;
    lmnet::cached<lmnet::cascade<small_model, large_model>, lmnet::perceptual_key,
                  lmnet::perceptual_key_of>
        classifier;
    std::vector<float> input = std::vector<float>(lmnet::tools::input_floats);
    int correct = 0;
  };
  std::vector<std::unique_ptr<worker>> workers;
  for (int t = 0; t < threads; ++t) {
    workers.push_back(std::make_unique<worker>(small, large, threshold, memory));
  }
  const double cpu = cpu_seconds_of(images.size(), threads, [&](int t, std::size_t i) {
    worker& w = *workers[static_cast<std::size_t>(t)];
    lmnet::tools::preprocess(images.image(i), w.input);
    const lmnet::prediction p = w.classifier.classify(w.input, images.image(i));
    w.correct += p.label == images.labels[i] ? 1 : 0;
  });
  stream_result r;
  std::uint64_t second_runs = 0;
  int correct = 0;
  for (const auto& w : workers) {
    second_runs += w->dual.stats().second_runs;
    correct += w->correct;
  }
  const auto n = static_cast<double>(images.size());
  r.accuracy = correct / n;
  r.second_rate = static_cast<double>(second_runs) / n;
  r.hit_rate = memory.stats().hit_rate();
  r.cpu_ms_per_image = 1e3 * cpu / n;
  return r;
}

// MobileNetV2 alone, one image at a time, over the first `count` images: CPU ms per image.
double large_cpu_ms_per_image(const lmnet::tools::image_set& images, std::size_t count,
                              const lmnet::aligned_buffer& large, int threads) {
  std::vector<std::unique_ptr<large_model>> models;
  std::vector<std::vector<float>> inputs;
  for (int t = 0; t < threads; ++t) {
    models.push_back(std::make_unique<large_model>(1));
    models.back()->load_folded(large.span());
    inputs.emplace_back(lmnet::tools::input_floats);
  }
  const double cpu = cpu_seconds_of(count, threads, [&](int t, std::size_t i) {
    std::vector<float>& input = inputs[static_cast<std::size_t>(t)];
    lmnet::tools::preprocess(images.image(i), input);
    (void)lmnet::predict_from_logits(models[static_cast<std::size_t>(t)]->infer(input));
  });
  return 1e3 * cpu / static_cast<double>(count);
}

// Part 2: the cascade behind its cache, on the test set and on its duplicated copy.
void run_cascade(const std::string& weights, const std::string& data,
                 const fashion_mnist::dataset& test, std::size_t count, double large_accuracy,
                 int threads) {
  const lmnet::aligned_buffer small =
      folded_weights<fashion_mnist::l_mobilenet>(weights + "/l_mobilenet.safetensors");
  const lmnet::aligned_buffer large = folded_weights<fashion_mnist::mobilenet_v2_cifar>(
      weights + "/mobilenet_v2_cifar.safetensors");

  // The threshold: lambda* of the margin rule with the post-check, on validation images (held out
  // from training; never the test set).
  constexpr std::size_t calibration_images = 2000;
  const lmnet::tools::image_set validation = lmnet::tools::first(
      lmnet::tools::validation_split(lmnet::tools::load_fashion_mnist(data, "train")),
      calibration_images);
  std::vector<float> inputs(validation.size() * lmnet::tools::input_floats);
  for (std::size_t i = 0; i < validation.size(); ++i) {
    lmnet::tools::preprocess(
        validation.image(i),
        std::span(inputs).subspan(i * lmnet::tools::input_floats, lmnet::tools::input_floats));
  }
  const auto first = examples::classify<fashion_mnist::l_mobilenet, backend>(
      lmnet::safetensors(weights + "/l_mobilenet.safetensors"), inputs, validation.size(), threads);
  const auto second = examples::classify<fashion_mnist::mobilenet_v2_cifar, backend>(
      lmnet::safetensors(weights + "/mobilenet_v2_cifar.safetensors"), inputs, validation.size(),
      threads);
  const lmnet::threshold_rule margin{lmnet::score::margin, 0.0f};
  const lmnet::threshold_choice lambda = lmnet::calibrate_threshold(
      margin, lmnet::pair_outcomes::of(margin, first.logits, second.logits, validation.labels, 10),
      true);

  lmnet::tools::image_set test_set;
  for (std::size_t i = 0; i < count; ++i) {
    test_set.append(
        std::span(test.images).subspan(i * lmnet::tools::image_bytes, lmnet::tools::image_bytes),
        test.labels[i]);
  }
  lmnet::tools::image_set duplicated = test_set;
  const lmnet::tools::image_set copies =
      lmnet::tools::duplicates(test_set, lmnet::tools::perturbation::none);
  for (std::size_t i = 0; i < copies.size(); ++i)
    duplicated.append(copies.image(i), copies.labels[i]);

  std::printf(
      "\nDual cascade with a result cache: l_mobilenet first, mobilenet_v2_cifar when "
      "l_mobilenet's top-2\nmargin is below %.4f (lambda* with the post-check on %zu validation "
      "images), a perceptual\ncache in front; one image at a time on %d threads, CPU time per "
      "image\n\n",
      lambda.threshold, validation.size(), threads);
  const std::size_t sample = std::min<std::size_t>(count, 1000);
  const double large_ms = large_cpu_ms_per_image(test_set, sample, large, threads);
  std::printf("%-18s %8s %9s %13s %11s %13s %16s\n", "dataset", "images", "accuracy",
              "second model", "cache hits", "CPU ms/image", "saving vs large");
  std::printf("%-18s %8zu %8.2f%% %13s %11s %13.3f %16s\n", "large model alone", count,
              100.0 * large_accuracy, "-", "-", large_ms, "-");
  for (const auto& [name, set] :
       {std::pair<const char*, const lmnet::tools::image_set*>{"test", &test_set},
        {"test duplicated", &duplicated}}) {
    const stream_result r = stream_cascade(*set, small, large, lambda.threshold, threads);
    std::printf("%-18s %8zu %8.2f%% %12.1f%% %10.1f%% %13.3f %15.1f%%\n", name, set->size(),
                100.0 * r.accuracy, 100.0 * r.second_rate, 100.0 * r.hit_rate, r.cpu_ms_per_image,
                100.0 * (1.0 - r.cpu_ms_per_image / large_ms));
  }
  std::printf(
      "large model alone: its accuracy on the test set above, its time over the first %zu "
      "images\n",
      sample);
}

int usage() {
  std::fprintf(stderr,
               "usage: lmnet_demo [--weights DIR] [--data DIR] [--threads N] [--subset N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string weights = "examples/weights/fashion_mnist", data(fashion_mnist::default_root);
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::size_t subset = 0;  // the first N test images only; 0: all of them
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
    } else {
      return usage();
    }
  }

  try {
    const fashion_mnist::dataset test = fashion_mnist::load("t10k", data);
    const std::size_t count = subset == 0 ? test.count : std::min(subset, test.count);
    std::printf("Fashion-MNIST test set: %zu images, 28x28 grey padded to 32x32; weights: %s/\n",
                test.count, weights.c_str());
    std::printf("lmnet %s backend, %d threads, batch 16\n\n", backend_name, threads);
    std::printf("%-20s %10s %12s %8s %10s %9s %10s\n", "model", "params", "MACs", "images",
                "accuracy", "PyTorch", "images/s");

    const result l = evaluate<fashion_mnist::l_mobilenet>(weights + "/l_mobilenet.safetensors",
                                                          test, count, threads);
    print<fashion_mnist::l_mobilenet>("l_mobilenet", l, count < test.count);
    const result m = evaluate<fashion_mnist::mobilenet_v2_cifar>(
        weights + "/mobilenet_v2_cifar.safetensors", test, count, threads);
    print<fashion_mnist::mobilenet_v2_cifar>("mobilenet_v2_cifar", m, count < test.count);

    std::printf("\naccuracy: lmnet's; PyTorch: tools/train.py's on the whole test set\n");
    if (count < test.count) std::printf("* the first %zu test images only (--subset)\n", count);
    constexpr auto& lp = lmnet::plan_of<fashion_mnist::l_mobilenet>;
    constexpr auto& mp = lmnet::plan_of<fashion_mnist::mobilenet_v2_cifar>;
    std::printf(
        "L-Mobilenet: %.1fx fewer parameters, %.1fx fewer MACs, %.1fx the images per second\n",
        static_cast<double>(mp.params()) / static_cast<double>(lp.params()),
        static_cast<double>(mp.macs()) / static_cast<double>(lp.macs()),
        l.images_per_second / m.images_per_second);

    run_cascade(weights, data, test, count, accuracy(m.hits), threads);

    // Part 3: L-Mobilenet step by step, one image on one thread.
    small_model small(1);
    small.load(lmnet::safetensors(weights + "/l_mobilenet.safetensors"));
    const std::vector<float> image = fashion_mnist::preprocess(test, 0, 1);
    std::printf("\nl_mobilenet step by step (%s backend, batch 1, one thread):\n%s", backend_name,
                lmnet::profile(small, image, 200).table().c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmnet_demo: %s\n", e.what());
    return 1;
  }
}

// SPDX-License-Identifier: Apache-2.0
// lmnet_quantize: calibrates a trained Fashion-MNIST model for int8 on training images and stores
// it with its quant params, so that a device loads the int8 model without calibration data:
//
//   lmnet_quantize <model> <weights.safetensors> <out.safetensors> [--images N]
//                  [--rule min_max|percentile] [--percentile P] [--data DIR]
//
//   lmnet::model<net, lmnet::backend::int8<lmnet::backend::simd<>>> m;
//   m.load(lmnet::safetensors{"out.safetensors"});
#include "fashion_mnist.hpp"
#include "fashion_mnist_models.hpp"

#include <lmnet/lmnet.hpp>
#include <lmnet/quantization/storage.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: lmnet_quantize <model> <weights.safetensors> <out.safetensors> "
               "[--images N] [--rule min_max|percentile] [--percentile P] [--data DIR]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return usage();
  const std::string name = argv[1], weights = argv[2], out = argv[3];
  std::string data(fashion_mnist::default_root);
  std::size_t images = 500;
  lmnet::quantization_options options;
  for (int i = 4; i < argc; ++i) {
    const std::string arg = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string value = argv[++i];
    if (arg == "--images") {
      images = std::strtoull(value.c_str(), nullptr, 10);
    } else if (arg == "--rule" && (value == "min_max" || value == "percentile")) {
      options.rule =
          value == "min_max" ? lmnet::range_rule::min_max : lmnet::range_rule::percentile;
    } else if (arg == "--percentile") {
      options.percentile = std::atof(value.c_str());
    } else if (arg == "--data") {
      data = value;
    } else {
      return usage();
    }
  }
  try {
    const fashion_mnist::dataset train = fashion_mnist::load("train", data);
    if (images == 0 || images > train.count) images = train.count;
    const std::vector<float> calibration = fashion_mnist::preprocess(train, 0, images);
    const bool known = fashion_mnist::with_model(
        name, [&]<const auto & Net>() {
          constexpr auto& plan = lmnet::plan_of<Net>;
          lmnet::safetensors source(weights);
          lmnet::aligned_buffer folded(plan.weight_floats);
          lmnet::bind_weights(plan, source, folded.span());
          const auto start = std::chrono::steady_clock::now();
          const lmnet::value_quantization values =
              lmnet::calibrate_quantization(plan, folded.span(), calibration, options);
          const double seconds =
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          std::map<std::string, std::string> metadata = source.metadata();
          std::string rule = "min_max";
          if (options.rule == lmnet::range_rule::percentile) {
            rule = "percentile ";
            rule += std::to_string(options.percentile);
          }
          rule += " over the first ";
          rule += std::to_string(images);
          rule += " Fashion-MNIST training images";
          metadata["lmnet.calibration"] = rule;
          lmnet::safetensors again(weights);
          lmnet::save_calibrated(out, plan, again, values, metadata);
          std::printf("%s: calibrated on %zu images in %.1f s, written to %s\n", name.c_str(),
                      images, seconds, out.c_str());
        });
    if (!known) {
      std::fprintf(stderr, "lmnet_quantize: unknown model '%s'\n", name.c_str());
      return 2;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lmnet_quantize: %s\n", e.what());
    return 1;
  }
}

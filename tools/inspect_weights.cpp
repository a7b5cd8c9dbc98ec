// SPDX-License-Identifier: Apache-2.0
// lmnet_inspect: what a safetensors file holds, and how its names line up with a network's.
//
//   lmnet_inspect <file.safetensors>            metadata, then each tensor's name, dtype, shape
//   lmnet_inspect <file.safetensors> <preset>   the preset's tensors beside the file's, marked
//                                               ok, missing, shape, dtype, unexpected or unread
//
// Presets are those of the trained Fashion-MNIST models (one grey 32x32 channel, 10 classes);
// for a network of your own, print lmnet::compare_tensors(lmnet::expected_tensors(plan), ...).
// Exit status: 0 when the file loads into the preset, 1 when it would not (or on an error).
#include "fashion_mnist_models.hpp"

#include <lmnet/io/inspect.hpp>

#include <cstdio>
#include <string>
#include <string_view>

namespace {

int usage() {
  std::string presets;
  for (const std::string_view name : fashion_mnist::model_names) {
    presets += presets.empty() ? "" : ", ";
    presets += name;
  }
  std::fprintf(stderr,
               "usage: lmnet_inspect <file.safetensors> [<preset>]\n"
               "  lists the file's tensors; with a preset, lines them up with the preset's\n"
               "  presets: %s\n",
               presets.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3 || std::string_view(argv[1]).starts_with("-")) return usage();
  try {
    const lmnet::safetensors file(argv[1]);
    if (argc == 2) {
      std::fputs(lmnet::list_tensors(file).c_str(), stdout);
      return 0;
    }
    lmnet::tensor_comparison comparison;
    const bool known = fashion_mnist::with_model(
        argv[2], [&]<const auto & net>() {
          comparison =
              lmnet::compare_tensors(lmnet::expected_tensors(lmnet::plan_of<net>), file.tensors());
        });
    if (!known) {
      std::fprintf(stderr, "lmnet_inspect: unknown preset '%s'\n", argv[2]);
      return usage();
    }
    std::fputs(comparison.table.c_str(), stdout);
    return comparison.problems == 0 ? 0 : 1;
  } catch (const lmnet::error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

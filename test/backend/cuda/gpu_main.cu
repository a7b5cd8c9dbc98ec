// SPDX-License-Identifier: Apache-2.0
// Entry point of the GPU tests. Without a CUDA device they exit with 77, which ctest reports as
// skipped (SKIP_RETURN_CODE), except when the case selected (--test-case=, as ctest runs them) is
// "... without a device", which checks the error the backend gives then; with a device, that one
// is skipped instead.
#define DOCTEST_CONFIG_IMPLEMENT
#include <lmnet/backend/cuda/runtime.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  bool listing = false, without_device = false;
  for (int i = 1; i < argc; ++i) {
    listing =
        listing || std::strncmp(argv[i], "--list", 6) == 0 || std::strcmp(argv[i], "-ltc") == 0;
    const bool selects =
        std::strncmp(argv[i], "--test-case=", 12) == 0 || std::strncmp(argv[i], "-tc=", 4) == 0;
    without_device = without_device || (selects && std::strstr(argv[i], "without a device"));
  }
  if (!listing) {
    const bool device = lmnet::cuda::device_count() > 0;
    if (device == without_device) {
      std::printf("SKIPPED: %s\n",
                  device ? "a CUDA device is present" : "no CUDA device (or no driver) found");
      return 77;
    }
  }
  doctest::Context context(argc, argv);
  return context.run();
}

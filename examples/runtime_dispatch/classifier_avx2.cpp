// SPDX-License-Identifier: Apache-2.0
// Compiled with -mavx2 -mfma.
#include "classifier_impl.hpp"

std::unique_ptr<classifier> make_classifier_avx2() {
  return std::make_unique<classifier_on<xsimd::fma3<xsimd::avx2>>>();
}

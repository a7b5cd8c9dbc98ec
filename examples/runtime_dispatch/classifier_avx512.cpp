// SPDX-License-Identifier: Apache-2.0
// Compiled with -mavx512f -mavx512cd -mavx512dq -mavx512bw -mavx512vl -mfma.
#include "classifier_impl.hpp"

std::unique_ptr<classifier> make_classifier_avx512() {
  return std::make_unique<classifier_on<xsimd::avx512bw>>();
}

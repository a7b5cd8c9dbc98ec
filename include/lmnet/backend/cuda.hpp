// SPDX-License-Identifier: Apache-2.0
// The CUDA backend: the same networks on NVIDIA GPUs. Compile the files that include it with nvcc
// (CUDA 12 or later, -std=c++20):
//
//     lmnet::model<net, lmnet::backend::cuda> m(256);                 // up to 256 images
//     lmnet::model<net, lmnet::backend::cuda> m(1, lmnet::cuda_options{.device = 1});
//
// `infer` takes and returns host memory; `m.backend_engine().run_device(...)` keeps data on the
// GPU and runs on a stream of the caller's. See docs/cuda.md.
#pragma once

#if !defined(__CUDACC__)
#error "<lmnet/backend/cuda.hpp> is CUDA code: compile the file that includes it with nvcc"
#endif

#include <lmnet/backend/cuda/engine.hpp>

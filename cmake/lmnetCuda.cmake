# CUDA for lmnet's own CUDA tests, examples and benchmarks (LMNET_ENABLE_CUDA=ON). The library
# target needs none of this: users include <lmnet/backend/cuda.hpp> from their own .cu files.
#
# Architectures: 75 (Turing) to 90 (Hopper) by default; override with CMAKE_CUDA_ARCHITECTURES
# (CI builds one, see scripts/test).
if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES OR CMAKE_CUDA_ARCHITECTURES STREQUAL "")
  set(CMAKE_CUDA_ARCHITECTURES 75 80 86 89 90)
endif()
enable_language(CUDA)
find_package(CUDAToolkit REQUIRED)
# CMake before 3.26 knows no C++20 flag for nvcc.
if(NOT CMAKE_CUDA20_STANDARD_COMPILE_OPTION)
  set(CMAKE_CUDA20_STANDARD_COMPILE_OPTION "-std=c++20")
  set(CMAKE_CUDA20_EXTENSION_COMPILE_OPTION "-std=c++20")
endif()

# Flags of lmnet's CUDA targets. Two nvcc front-end warnings are silenced, both about templates of
# the core instantiated with edge values: 554 (tensor_view's conversion to a const view, which its
# constraint removes for views that already are const) and 186 (loops over zero-sized plan arrays).
function(lmnet_cuda_target_options target)
  target_link_libraries(${target} PRIVATE lmnet::lmnet CUDA::cudart)
  set_target_properties(${target} PROPERTIES CUDA_STANDARD 20 CUDA_STANDARD_REQUIRED ON
                                             CUDA_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CUDA>:--expt-relaxed-constexpr -lineinfo -diag-suppress=554,186
                               -Xcompiler=-Wall,-Wextra>)
  if(LMNET_WERROR)
    target_compile_options(${target} PRIVATE
      $<$<COMPILE_LANGUAGE:CUDA>:-Werror=all-warnings -Xcompiler=-Werror>)
  endif()
endfunction()

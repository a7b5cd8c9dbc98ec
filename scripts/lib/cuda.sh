# Shared by scripts/cuda-verify and scripts/cuda-bench: the build on a GPU machine, which may have
# no network (nothing can be installed there) and need not be Debian.
# shellcheck shell=bash

# The Debian packages the CUDA build needs beyond nvcc, a host C++ compiler, CMake and ninja. On a
# machine without them and without a package mirror, scripts/cuda-deps saves them in .deps/ on a
# machine with one; copy .deps/ along with the checkout.
cuda_build_packages=(doctest-dev libxsimd-dev libbenchmark-dev libbenchmark1debian)

# Sets cuda_cmake_args (extra CMake options) so that the CUDA build finds its dependencies:
# installed packages, else packages apt-get can install, else the ones saved in .deps/.
ensure_cuda_build_deps() {
  cuda_cmake_args=()
  local tool
  for tool in nvcc cmake ninja c++; do
    command -v "$tool" >/dev/null || {
      echo "$tool is missing: the CUDA build needs nvcc, a C++ compiler, CMake and ninja" >&2
      return 1
    }
  done
  local missing=() p
  for p in "${cuda_build_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ls .deps/*.deb >/dev/null 2>&1; then
    # Unpacked, not installed: the files land under build/deps and CMake is pointed at them.
    local root=$PWD/build/deps deb
    mkdir -p "$root"
    for deb in .deps/*.deb; do dpkg-deb -x "$deb" "$root" || return 1; done
    local lib=$root/usr/lib/x86_64-linux-gnu
    cuda_cmake_args=(-Ddoctest_DIR="$root/usr/lib/cmake/doctest" -Dxsimd_DIR="$lib/cmake/xsimd"
      -Dbenchmark_DIR="$lib/cmake/benchmark")
    export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "== using the packages saved in .deps/ (unpacked into build/deps)"
    return 0
  fi
  if command -v apt-get >/dev/null && ensure_packages "${missing[@]}"; then return 0; fi
  echo "missing packages: ${missing[*]}; without a package mirror, run ./scripts/cuda-deps on a" \
    "machine with one and copy .deps/ here" >&2
  return 1
}

# The compute capability of GPU 0 as CMake spells it (9.0 -> 90); CUDA_ARCH overrides.
cuda_gpu_arch() {
  if [ -n "${CUDA_ARCH:-}" ]; then
    echo "$CUDA_ARCH"
  else
    nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. '
  fi
}

# The build directory of scripts/cuda-verify and scripts/cuda-bench (CUDA_BUILD_DIR overrides).
cuda_build_dir=${CUDA_BUILD_DIR:-build/cuda-gpu}

# Configures and builds the given CUDA targets for this GPU in $cuda_build_dir (kept between runs:
# a second run rebuilds nothing).
build_cuda_gpu() {
  local arch
  arch=$(cuda_gpu_arch) || return 1
  cmake -S . -B "$cuda_build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLMNET_ENABLE_CUDA=ON \
    -DCMAKE_CUDA_COMPILER="$(command -v nvcc)" -DCMAKE_CUDA_ARCHITECTURES="$arch" \
    -DLMNET_BUILD_BENCHMARKS=ON "${cuda_cmake_args[@]}" >/dev/null || return 1
  cmake --build "$cuda_build_dir" -j "$(nproc)" --target "$@"
}

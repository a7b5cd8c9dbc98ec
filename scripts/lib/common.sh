# Shared by the scripts in scripts/: package installation and the CMake build.
# shellcheck shell=bash

# Installs the Debian packages that are not installed yet (apt-get update only when needed).
ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "== installing: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The packages every build needs.
ensure_build_packages() {
  ensure_packages g++ cmake ninja-build libxsimd-dev doctest-dev libbenchmark-dev libxxhash-dev
}

# configure_and_build <build dir> [cmake options...]
configure_and_build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null
  cmake --build "$dir" -j "$(nproc)"
}

# Debian's Python, which sees python3-torch (a python3 earlier on PATH may not).
PYTHON=/usr/bin/python3

# What weight loading, its checks against PyTorch and the Fashion-MNIST programs need: PyTorch
# (parity and accuracy checks), the dataset, zlib (the examples' gzip reader), clang with libFuzzer
# (the safetensors fuzz target).
ensure_weight_packages() {
  ensure_packages python3-torch python3-torchvision python3-numpy dataset-fashion-mnist zlib1g-dev \
    clang libclang-rt-14-dev
}

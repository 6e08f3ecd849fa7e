#!/usr/bin/env bash
# Create ./.venv and install kasuhara with everything it needs, offline-capable afterwards.
# torch is pinned first: 2.13.0 is a CPU build available on this machine; an unpinned torch
# (pulled in by sentence-transformers) would be a several-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=${VENV:-.venv}

if [ ! -x "$VENV/bin/python" ]; then
  echo "仮想環境 $VENV を作成します…"
  "$PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "torch==2.13.0"
"$VENV/bin/python" -m pip install --quiet -e ".[st,test]"
touch "$VENV/.kasuhara-installed"
echo "セットアップが完了しました。"

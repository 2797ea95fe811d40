#!/bin/bash
# The README's first command: shows cryo's main job end to end.
set -eu
cd "$(dirname "$0")/.."
echo "== cryo check: what this machine allows"
./cryo check || true
echo
echo "== a sample image, validated and decoded"
./cryo show tests/fuzz/corpus/valid-tree

#!/bin/sh
# compile.sh - compile contracts-abi/src/*.sol with the pinned solc-js into
# contracts-abi/<Name>.json. Pass --check to verify the committed artifacts
# instead (exit 1 if they differ from a fresh compile). Runs from any directory.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
NODE_PATH=.tools/node_modules exec node contracts-abi/compile.js "$@"

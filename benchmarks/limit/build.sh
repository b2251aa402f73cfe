#!/usr/bin/env bash
# Build the C++ no-Python REINFORCE ceiling into benchmarks/limit/build/.
#   benchmarks/limit/build.sh            # portable: g++ -O3 -std=c++17
#   benchmarks/limit/build.sh --native   # adds -march=native (not portable)
# CXX and CXXFLAGS in the environment are honoured.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
flags=(-O3 -std=c++17 -Wall -Wextra)
for arg in "$@"; do
    case "$arg" in
        --native) flags+=(-march=native) ;;
        *) echo "usage: $0 [--native]" >&2; exit 2 ;;
    esac
done
mkdir -p "$here/build"
# shellcheck disable=SC2086
"${CXX:-g++}" "${flags[@]}" ${CXXFLAGS:-} "$here/reinforce_cartpole.cpp" \
    -o "$here/build/reinforce_cartpole"
echo "built $here/build/reinforce_cartpole"

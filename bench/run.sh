#!/bin/sh
# Every benchmark, against one Release build (make bench builds it).
# Each script prints its own table; docs/BENCHMARKS.md and docs/bench/*.md
# hold the figures and what bounds them.
# Usage: bench/run.sh [BUILD_DIR]   (default build-release)
set -eu
cd "$(dirname "$0")/.."
BUILD=${1:-build-release}
echo "== host (bench/core/run.sh)"
bench/core/run.sh "$BUILD" 30
echo "== socket (bench/socket/run.sh)"
BUILD="$BUILD" bench/socket/run.sh
echo "== mongo (bench/mongo/run.sh)"
tests/mongo/server/install.sh
bench/mongo/run.sh "$BUILD"
echo "== rest (bench/rest/run.sh; N = 10,000 takes minutes: the baseline needs 40 s a round)"
bench/rest/run.sh "$(pwd)/$BUILD"

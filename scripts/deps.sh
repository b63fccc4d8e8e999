#!/bin/sh
# Installs exactly the Debian packages siphon needs that are missing, and
# says which: to build and run it; with "test", also what the tests need;
# with "bench", what the benchmarks need. Idempotent: prints "deps: all
# present" when nothing is missing.
set -eu
# Everything said here is a diagnostic: on stderr, so that `make run`'s
# standard output is siphon's records and nothing else.
exec 1>&2

PKGS="ca-certificates git cmake make gcc pkg-config libuv1-dev libcurl4-openssl-dev libjansson-dev \
libmongoc-dev libbson-dev zlib1g-dev"

case "${1:-}" in
  # `make run` needs none of these: the test framework, the format check,
  # valgrind, the TLS and HTTP/2 test servers' tools, Node.js for the
  # in-memory MongoDB server, and g++ for the SDK test of a C++ plugin.
  test) PKGS="$PKGS libcriterion-dev g++ clang-format valgrind openssl nghttp2-server nodejs npm" ;;
  # What the benchmark scripts run (bench/*/*.sh), the mongo benchmark's
  # in-memory server (Node.js) among them.
  bench) PKGS="$PKGS time bc python3 nodejs npm" ;;
  "") ;;
  *) echo "deps.sh: unknown set '$1' (test or bench)"; exit 2 ;;
esac

missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $p"
  fi
done
# nodejs from another source (nodesource) ships npm itself.
case " $missing " in
  *" npm "*) command -v npm >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ npm//') ;;
esac
case " $missing " in
  *" nodejs "*) command -v node >/dev/null 2>&1 && missing=$(echo "$missing" | sed 's/ nodejs//') ;;
esac

if [ -z "$missing" ]; then
  echo "deps: all present"
else
  echo "deps: installing:$missing"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

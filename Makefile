# A thin wrapper over CMake, as in Neovim. Real work lives in CMakeLists.txt.
BUILD      ?= build
ASAN_BUILD ?= build-asan
UVPOLL_BUILD ?= build-uvpoll
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CONFIG     ?= config/demo.json
CMAKE_ARGS ?=
# "Entering directory" lines would land among `make -C ... run`'s records.
MAKEFLAGS  += --no-print-directory

.PHONY: all deps dev-deps test-deps build build-asan run test test-asan test-uvpoll format format-check bench install clean

all: build

# What siphon needs to build and run: all that `make run` installs.
deps:
	@scripts/deps.sh

# Also what building and checking the tests needs (Criterion, valgrind,
# clang-format, the test servers' tools).
dev-deps:
	@scripts/deps.sh test

# And what only running them needs: the in-memory MongoDB wire-protocol
# server (npm).
test-deps: dev-deps
	@tests/mongo/server/install.sh

# Configure output goes to stderr: on a first `make run`, standard output
# must carry siphon's records only.
# Order-only: under make -j the packages are in before cmake looks.
$(BUILD)/CMakeCache.txt: | deps
	@echo "cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS)" >&2
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Debug $(CMAKE_ARGS) >&2

# A tree configured before Criterion was installed (by `make run`) is
# configured again to take the tests in: $(call with_tests,DIR).
with_tests = @grep -q '^CRITERION_FOUND:INTERNAL=1' $(1)/CMakeCache.txt || cmake -S . -B $(1) >&2

build: dev-deps $(BUILD)/CMakeCache.txt
	$(call with_tests,$(BUILD))
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt: | dev-deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIPHON_SANITIZE=ON -DSIPHON_BUILD_BENCH=OFF $(CMAKE_ARGS)

build-asan: dev-deps $(ASAN_BUILD)/CMakeCache.txt
	$(call with_tests,$(ASAN_BUILD))
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# Only the binary and the plugins (the template too: `cmake --install`
# installs it, and its README runs it): the demo needs no test.
RUN_TARGETS = siphon rest socket mongo template
run: deps $(BUILD)/CMakeCache.txt
	@cmake --build $(BUILD) -j $(JOBS) --target $(RUN_TARGETS) -- --no-print-directory >/dev/null \
	  || cmake --build $(BUILD) -j 1 --target $(RUN_TARGETS) >&2
	@echo "$(BUILD)/siphon -c $(CONFIG)" >&2
	@$(BUILD)/siphon -c $(CONFIG)

# Every test in the dev build, then again under AddressSanitizer + UBSan.
test: build test-deps format-check
	ctest --test-dir $(BUILD) --output-on-failure --no-tests=error -j $(JOBS)
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-uvpoll

# The rest plugin's portable socket watcher (a uv_poll_t per socket, for
# systems without epoll), built and tested on Linux too.
test-uvpoll: deps test-deps
	@cmake -S . -B $(UVPOLL_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSIPHON_REST_UV_POLL=ON -DSIPHON_BUILD_BENCH=OFF $(CMAKE_ARGS) >&2
	cmake --build $(UVPOLL_BUILD) -j $(JOBS)
	ctest --test-dir $(UVPOLL_BUILD) --output-on-failure --no-tests=error -j $(JOBS) -L rest

# Criterion reports a test as passed even when LeakSanitizer found a leak
# in it, so the whole output is kept and searched for sanitizer reports.
# intercept_tls_get_addr=0: GCC 12's runtime keeps the dynamic-TLS blocks
# it saw through __tls_get_addr after the library that owns them is
# dlclosed (one of the rest plugin's libraries with thread-locals: GnuTLS
# through librtmp and libldap, or krb5's com_err), and its leak check at
# exit then crashes on them ("Tracer caught signal 11"), depending on
# memory layout alone. Not scanning those blocks can only add false leak
# reports, never hide one; none appear. The search below also catches
# that crash, should it come back.
test-asan: build-asan test-deps
	@log=$(ASAN_BUILD)/ctest-asan.log; status=0; \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:intercept_tls_get_addr=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir $(ASAN_BUILD) -V --no-tests=error -j $(JOBS) -LE no-asan > $$log 2>&1 || status=$$?; \
	grep -E "^ *[0-9]+/[0-9]+ Test +#|tests passed|tests failed|^Total Test time" $$log; \
	if grep -nE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|LeakSanitizer has encountered a fatal error|Tracer caught signal" $$log; then \
	  echo "test-asan: sanitizer reports above (whole output: $$log)"; status=1; fi; \
	if [ $$status -ne 0 ]; then tail -n 300 $$log; fi; \
	exit $$status

format: dev-deps
	git ls-files '*.c' '*.h' | xargs clang-format -i

format-check: dev-deps
	@git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror && echo "format: ok"

bench:
	@scripts/deps.sh bench
	cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DSIPHON_BUILD_TESTS=OFF
	cmake --build build-release -j $(JOBS)
	bench/run.sh

# What is installed needs no test: build it alone, with `make run`'s
# packages, then install (to CMAKE_INSTALL_PREFIX; PREFIX=DIR elsewhere).
install: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target $(RUN_TARGETS)
	cmake --install $(BUILD) $(if $(PREFIX),--prefix $(PREFIX))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(UVPOLL_BUILD) build-release

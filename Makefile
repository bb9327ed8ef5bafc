# The two commands of the README: `make run` and `make test`.
# Both install missing Debian build dependencies first (scripts/install-deps).

JOBS ?= $(shell nproc)
PROMPT ?= Once upon a time

.PHONY: all deps build build-asan run test bench clean

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build build -j $(JOBS)

# Unit tests and fuzz targets under AddressSanitizer + UBSan, built with clang
# (libFuzzer comes with it).
build-asan: deps
	@cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DOLLAMA_SANITIZE=ON -DOLLAMA_FUZZ=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

run: build
	@PROMPT="$(PROMPT)" scripts/demo

test: build build-asan
	ctest --test-dir build --output-on-failure -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -L 'unit|fuzz'

bench: build
	bench/run.sh

clean:
	rm -rf build build-asan

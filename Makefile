# Two commands matter (see README):
#   make demo   build crowd and run a real program under it and under glibc,
#               printing a memory report
#   make test   build crowd and run every test, plus the sanitizer variants
# Both install the Debian packages they need first.

BUILD ?= build
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

.PHONY: all deps build test test-main test-sanitizers demo bench footprint install clean

all: build

deps:
	@scripts/install-deps

build: deps
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

test-main: build
	ctest --test-dir $(BUILD) --output-on-failure -j 2

# ASan and UBSan over the prefixed-API tests, TSan over the stress test.
test-sanitizers: deps
	for s in address undefined thread; do \
	  cmake -S . -B $(BUILD)-$$s -DCMAKE_BUILD_TYPE=Debug -DCROWD_SANITIZE=$$s >/dev/null && \
	  cmake --build $(BUILD)-$$s -j $(JOBS) >/dev/null && \
	  ctest --test-dir $(BUILD)-$$s --output-on-failure || exit 1; \
	done

test: test-main test-sanitizers

demo: build
	tools/crowd run --compare glibc,jemalloc,tcmalloc,mimalloc --plot $(BUILD)/demo.png -- \
	  env PYTHONMALLOC=malloc python3 tools/demo_workload.py

bench: build
	bench/run

footprint: build
	bench/footprint

install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

clean:
	rm -rf $(BUILD) $(BUILD)-address $(BUILD)-undefined $(BUILD)-thread

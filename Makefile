# Thin wrapper: CMake builds, this installs dependencies and names the everyday jobs.
BUILD ?= build
SANITIZE_BUILD ?= build-sanitize
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 30
JOBS ?= $(shell nproc)
DEB_PACKAGES = libsqlite3-dev libelf-dev libdw-dev libcapstone-dev libcmocka-dev \
               libiberty-dev libzydis-dev cmake pkg-config gcc g++ make valgrind python3 procps \
               util-linux binutils bc tmux chromium clang libclang-rt-14-dev sqlite3 \
               openjdk-17-jdk-headless openssl gawk zstd luajit
# The flame graph's browser test drives Chromium with playwright-core (npm),
# installed under the build directory, never committed; 1.55 still runs on
# Debian 12's Node.js 18.
PLAYWRIGHT_VERSION = 1.55.0

.PHONY: all deps build demo test sanitize fuzz bench clean

all: build

# Installs the Debian packages only when one is missing (we run as root).
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "installing:" $$missing; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@command -v npm >/dev/null || { apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm; }
	@grep -qs '"version": "$(PLAYWRIGHT_VERSION)"' $(BUILD)/browser/node_modules/playwright-core/package.json || \
	    { mkdir -p $(BUILD)/browser && npm install --no-audit --no-fund --no-save \
	      --prefix $(BUILD)/browser playwright-core@$(PLAYWRIGHT_VERSION); }

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/prof record -o $(BUILD)/demo.db -- $(BUILD)/bench/hashmix 20000
	$(BUILD)/prof report -i $(BUILD)/demo.db --top 20

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The whole suite again with prof and the unit tests built with ASan+UBSan
# (a second build directory; .ci/run runs it after `make test`).
sanitize: deps
	cmake -S . -B $(SANITIZE_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROF_SANITIZE=ON \
	    -DPROF_BROWSER_DIR=$(abspath $(BUILD))/browser >/dev/null
	cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
	    UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer (clang) on the recording reader and the ELF/DWARF symbolizer,
# FUZZ_SECONDS each, from seeds made by the normal build; then the
# translator's differential fuzzer (tests/difffuzz) for FUZZ_SECONDS.
fuzz: build
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPROF_FUZZ=ON >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_store fuzz_elf fuzz_jit
	tests/fuzz/run.sh $(BUILD) $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	bench/run.sh $(BUILD)
	bench/sample.sh $(BUILD)

clean:
	rm -rf $(BUILD) $(SANITIZE_BUILD) $(FUZZ_BUILD)

# The two commands: `make run` and `make test`. `make` alone builds build/certvault.
BUILD_DIR ?= build
DATA_DIR ?= data
JOBS ?= $(shell nproc)

.PHONY: all build binary deps run test bench format clean

all: binary

deps:
	@scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Only the binary: tests and fuzzers are built by `make test`.
binary: $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS) --target certvault

run: deps binary
	$(BUILD_DIR)/certvault server --data-dir $(DATA_DIR)

test: deps build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

bench: binary
	@scripts/install-deps.sh --bench
	bench/run-all.sh

format:
	clang-format -i $$(git ls-files '*.cc' '*.h')

clean:
	rm -rf $(BUILD_DIR)

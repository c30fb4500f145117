# logs-collector - the two commands: `make run` and `make test`.
BUILD      ?= build
TESTBUILD  ?= build-test
FUZZBUILD  ?= build-fuzz
FUZZ_SECONDS ?= 300
BIN        := $(BUILD)/logs-collector
MESON_OPTS ?=

.PHONY: all deps build build-test build-fuzz run test fuzz format format-check clean

all: build

deps:
	@scripts/deps.sh build

build: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) --buildtype=release -Dtests=disabled $(MESON_OPTS) >/dev/null
	@ninja -C $(BUILD) >/dev/null || ninja -C $(BUILD)

# The test build runs under AddressSanitizer + UndefinedBehaviorSanitizer.
build-test:
	@scripts/deps.sh test
	@[ -f $(TESTBUILD)/build.ninja ] || meson setup $(TESTBUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dtests=enabled >/dev/null
	@ninja -C $(TESTBUILD) >/dev/null || ninja -C $(TESTBUILD)

# libFuzzer targets (fuzz/): clang with ASan + UBSan and coverage instrumentation.
build-fuzz:
	@scripts/deps.sh test
	@[ -f $(FUZZBUILD)/build.ninja ] || CC=clang meson setup $(FUZZBUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dtests=disabled -Dfuzz=true >/dev/null
	@ninja -C $(FUZZBUILD) >/dev/null || ninja -C $(FUZZBUILD)

# Each target for FUZZ_SECONDS (default 300) from its seed corpus.
fuzz: build-fuzz
	@scripts/fuzz.sh $(FUZZBUILD) $(FUZZ_SECONDS)

run: build
	$(BIN) serve

test: build build-test build-fuzz
	@FUZZ_BUILD=$(FUZZBUILD) scripts/test.sh $(TESTBUILD)

format:
	@clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'fuzz/*.c' 'fuzz/*.h')

format-check:
	@scripts/format-check.sh

clean:
	rm -rf $(BUILD) $(TESTBUILD) $(FUZZBUILD)

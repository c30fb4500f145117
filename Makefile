# logs-collector - the two commands: `make run` and `make test`.
BUILD      ?= build
TESTBUILD  ?= build-test
BIN        := $(BUILD)/logs-collector
MESON_OPTS ?=

.PHONY: all deps build build-test run test unit api format format-check clean

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

run: build
	$(BIN) serve

test: build build-test
	@scripts/test.sh $(TESTBUILD)

format:
	@clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c')

format-check:
	@scripts/format-check.sh

clean:
	rm -rf $(BUILD) $(TESTBUILD)

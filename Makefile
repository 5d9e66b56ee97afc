# sluice build. `make` builds the release binary; `make test` installs what is missing and runs
# every test (unit tests in the release and the ASan+UBSan builds, fuzz corpus replay,
# differential and end-to-end tests). See README.md.

MODE ?= release
BUILD := build/$(MODE)

CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
CLANG ?= clang
PYTEST ?= pytest-3

WARN := -std=c11 -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CPPFLAGS += -D_GNU_SOURCE -Isrc/format -Isrc/ingest -Isrc/store -Isrc/http -Isrc/cli
CFLAGS_release := -O2 -g
CFLAGS_asan := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=all
CFLAGS_ubsan := -O1 -g -fno-omit-frame-pointer -fsanitize=undefined -fno-sanitize-recover=all
CFLAGS += $(WARN) $(CFLAGS_$(MODE)) -MMD -MP
LDFLAGS += $(filter -fsanitize=%,$(CFLAGS_$(MODE)))
LDLIBS += -lm -lpthread

# chDB (ClickHouse as a library) cannot be loaded into an AddressSanitizer process, so only the
# release and UBSan builds use it; the ASan build leaves out the files that need it
# (src/store/*chdb*.c) and defines SL_NO_CHDB. Nothing links libchdb.so: sl_sink_chdb.c opens it
# with dlopen when `serve` starts, found through the RUNPATH set here (or SLUICE_CHDB_LIB).
CHDB_DIR := $(abspath deps/chdb/lib)
ifeq ($(MODE),asan)
CPPFLAGS += -DSL_NO_CHDB
CHDB_LIBS :=
else
CHDB_LIBS := -Wl,-rpath,$(CHDB_DIR) -ldl
endif
SERVER_LIBS := -lmicrohttpd -lcurl -lz -lzstd -lxxhash

# Modules built with -Wconversion: the hot path, where silent narrowing corrupts data.
HOT := src/format/sl_json.c src/format/sl_types.c src/format/sl_datetime.c \
       src/ingest/sl_convert.c src/format/sl_jsonpath.c

PURE_SRC := $(wildcard src/format/*.c src/ingest/*.c)
LIB_SRC := $(PURE_SRC) $(wildcard src/store/*.c src/http/*.c)
ifeq ($(MODE),asan)
LIB_SRC := $(filter-out %chdb.c,$(LIB_SRC))
endif
CLI_SRC := $(wildcard src/cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_SRC := $(wildcard tests/unit/test_*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)

.PHONY: all run deps test unit-test fuzz-replay diff-test e2e-test crash-test format format-check clean \
        bench fuzz

all: $(BUILD)/sluice

deps:
	@bash scripts/deps.sh

# Installs what is missing, builds, and starts the server on the embedded engine
# (127.0.0.1:7181, data in ./data). SLUICE_* variables configure it; see `sluice serve --help`.
run: deps
	$(MAKE) MODE=release all
	./build/release/sluice serve

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(if $(filter $<,$(HOT)),-Wconversion) -c $< -o $@

$(BUILD)/libsluice.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/sluice: $(CLI_OBJ) $(BUILD)/libsluice.a
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS) $(CHDB_LIBS) $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libsluice.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libsluice.a $(LDFLAGS) \
	    -lcriterion $(SERVER_LIBS) $(CHDB_LIBS) $(LDLIBS)

# Unit tests, each file its own Criterion binary. Runs from the repository root.
unit-test: $(TEST_BIN) $(BUILD)/sluice
	@set -e; for t in $(TEST_BIN); do echo "== $$t"; $$t --jobs 2; done

# libFuzzer targets (clang, ASan+UBSan). `make fuzz-replay` runs each saved corpus once;
# `make fuzz FUZZ_SECONDS=600` fuzzes every target for that long.
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all -Isrc/format -Isrc/ingest
build/fuzz/%: fuzz/%.c $(PURE_SRC)
	@mkdir -p build/fuzz
	$(CLANG) $(FUZZ_FLAGS) -o $@ $< $(PURE_SRC) -lm

# The WAL decoder target also needs the log itself (src/store/sl_wal.c) and its libraries.
build/fuzz/fuzz_wal: fuzz/fuzz_wal.c $(PURE_SRC) src/store/sl_wal.c src/store/sl_wal.h
	@mkdir -p build/fuzz
	$(CLANG) $(FUZZ_FLAGS) -Isrc/store -o $@ $< $(PURE_SRC) src/store/sl_wal.c -lm -lxxhash \
	    -lpthread

fuzz-replay: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	    mkdir -p fuzz/corpus/$$n; echo "== $$n (corpus replay)"; \
	    $$f -runs=0 fuzz/corpus/$$n 2>&1 | tail -n 2; done

FUZZ_SECONDS ?= 60
fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); mkdir -p fuzz/corpus/$$n \
	    fuzz/artifacts; $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz/artifacts/ \
	    fuzz/corpus/$$n; done

# Differential test against ClickHouse (chDB) and end-to-end tests of the binary.
diff-test: $(BUILD)/sluice
	SLUICE_BIN=$(BUILD)/sluice $(PYTEST) -q tests/diff

e2e-test: $(BUILD)/sluice
	@if ls tests/e2e/test_*.py >/dev/null 2>&1; then \
	    SLUICE_BIN=$(BUILD)/sluice $(PYTEST) -q tests/e2e; fi

test: deps
	$(MAKE) format-check
	$(MAKE) MODE=release unit-test
	$(MAKE) MODE=asan unit-test
	$(MAKE) fuzz-replay
	$(MAKE) MODE=release diff-test
	$(MAKE) MODE=release e2e-test

# Converter benchmark: sluice vs simdjson vs ClickHouse's JSONEachRow (see BENCHMARKS.md).
bench:
	bash bench/run.sh

# The long kill -9 crash test: 5 seeds x 40 kills (see bench/crash.sh).
crash-test: $(BUILD)/sluice
	bash bench/crash.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' '*.cc' 2>/dev/null; \
                 ls src/*/*.[ch] tests/unit/*.[ch] fuzz/*.c bench/*.c bench/*.cc 2>/dev/null)
format:
	clang-format -i $(sort $(FORMAT_FILES))

format-check:
	clang-format --dry-run -Werror $(sort $(FORMAT_FILES))

clean:
	rm -rf build

-include $(wildcard $(BUILD)/*/*/*.d $(BUILD)/*/*.d)

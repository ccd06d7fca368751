# Makefile - builds libcommon, the services and the tests; drives setup, the
# dev stack, tests and benchmarks. `make run` and `make test` install what is
# missing first (services/stack/setup.sh), so a fresh Debian 12 machine needs
# nothing else.

SHELL := /bin/bash
# V=1 shows full compiler command lines.
ifeq ($(V),1)
Q :=
else
Q := @
endif
CC ?= cc
BUILD := build
ASAN := $(BUILD)/asan

PKGS := libpq libmicrohttpd libavformat libavcodec libavutil
WARN := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Werror
CFLAGS_BASE := -std=c17 -D_GNU_SOURCE $(WARN) -Iservices/common -Iservices/gateway -Iservices/settlement $(shell pkg-config --cflags $(PKGS) 2>/dev/null || echo -I/usr/include/postgresql)
CFLAGS := -O2 -g $(CFLAGS_BASE)
CFLAGS_ASAN := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined $(CFLAGS_BASE)
LDLIBS := -lsecp256k1 -lcurl -ljansson -lpq -lmicrohttpd -lavformat -lavcodec -lavutil -lcrypto -lpthread -lm

COMMON_SRC := $(sort $(wildcard services/common/*.c))
COMMON_HDR := $(wildcard services/common/*.h)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_OBJ_ASAN := $(COMMON_SRC:%.c=$(ASAN)/%.o)

RIGHTSCTL_SRC := $(sort $(wildcard services/rightsctl/*.c))
# The gateway's modules go into libgateway.a (linked into the gateway and the
# tests, which exercise its pure parts directly); main.c is the program.
GATEWAY_SRC := $(filter-out services/gateway/main.c,$(sort $(wildcard services/gateway/*.c)))
GATEWAY_HDR := $(wildcard services/gateway/*.h)
GATEWAY_OBJ := $(GATEWAY_SRC:%.c=$(BUILD)/%.o)
GATEWAY_OBJ_ASAN := $(GATEWAY_SRC:%.c=$(ASAN)/%.o)
# The settlement service's modules, likewise (libsettlement.a; main.c is the
# program).
SETTLEMENT_SRC := $(filter-out services/settlement/main.c,$(sort $(wildcard services/settlement/*.c)))
SETTLEMENT_HDR := $(wildcard services/settlement/*.h)
SETTLEMENT_OBJ := $(SETTLEMENT_SRC:%.c=$(BUILD)/%.o)
SETTLEMENT_OBJ_ASAN := $(SETTLEMENT_SRC:%.c=$(ASAN)/%.o)
SERVICE_HDR := $(COMMON_HDR) $(GATEWAY_HDR) $(SETTLEMENT_HDR)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
INTEG_SRC := $(sort $(wildcard tests/integration/test_*.c))
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
UNIT_BIN := $(UNIT_SRC:tests/%.c=$(ASAN)/tests/%)
INTEG_BIN := $(INTEG_SRC:tests/%.c=$(ASAN)/tests/%)
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(BUILD)/tests/%)
FUZZ_BIN := $(FUZZ_SRC:tests/%.c=$(ASAN)/tests/%)

.PHONY: tests-build all build setup run test test-unit test-integration bench contracts check-contracts \
        clean distclean format fuzz

all: build

build: $(BUILD)/libcommon.a $(BUILD)/bin/rightsctl $(BUILD)/bin/gateway $(BUILD)/bin/settlement

# ---- libcommon ---------------------------------------------------------------
$(BUILD)/%.o: %.c $(SERVICE_HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(ASAN)/%.o: %.c $(SERVICE_HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/SAN  $<")
	$(Q)$(CC) $(CFLAGS_ASAN) -c $< -o $@

$(BUILD)/libcommon.a: $(COMMON_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(ASAN)/libcommon.a: $(COMMON_OBJ_ASAN)
	@rm -f $@
	$(Q)ar rcs $@ $^

# An empty archive is valid: the gateway may have no module but main.c yet.
$(BUILD)/libgateway.a: $(GATEWAY_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(ASAN)/libgateway.a: $(GATEWAY_OBJ_ASAN)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BUILD)/libsettlement.a: $(SETTLEMENT_OBJ)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(ASAN)/libsettlement.a: $(SETTLEMENT_OBJ_ASAN)
	@rm -f $@
	$(Q)ar rcs $@ $^

# ---- services ----------------------------------------------------------------
$(BUILD)/bin/rightsctl: $(RIGHTSCTL_SRC) $(BUILD)/libcommon.a $(COMMON_HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(RIGHTSCTL_SRC) $(BUILD)/libcommon.a $(LDLIBS) -o $@

$(BUILD)/bin/gateway: services/gateway/main.c $(BUILD)/libgateway.a $(BUILD)/libcommon.a $(COMMON_HDR) $(GATEWAY_HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) services/gateway/main.c $(BUILD)/libgateway.a $(BUILD)/libcommon.a $(LDLIBS) -o $@

$(BUILD)/bin/settlement: services/settlement/main.c $(BUILD)/libsettlement.a $(BUILD)/libcommon.a $(COMMON_HDR) $(SETTLEMENT_HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) services/settlement/main.c $(BUILD)/libsettlement.a $(BUILD)/libcommon.a $(LDLIBS) -o $@

# ---- tests (sanitizer build) -------------------------------------------------
$(ASAN)/tests/%: tests/%.c $(wildcard tests/*.h) $(wildcard tests/integration/*.h) $(ASAN)/libsettlement.a $(ASAN)/libgateway.a $(ASAN)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD/SAN  $@")
	$(Q)$(CC) $(CFLAGS_ASAN) -Itests $< $(ASAN)/libsettlement.a $(ASAN)/libgateway.a $(ASAN)/libcommon.a $(LDLIBS) -o $@

# Benchmarks link the services' modules too (bench_gateway.c: access_decide();
# bench_ledger.c: the indexer and the ledger).
$(BUILD)/tests/bench/%: tests/bench/%.c $(wildcard tests/*.h) $(wildcard tests/bench/*.h) $(wildcard tests/integration/*.h) $(BUILD)/libsettlement.a $(BUILD)/libgateway.a $(BUILD)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -Itests $< $(BUILD)/libsettlement.a $(BUILD)/libgateway.a $(BUILD)/libcommon.a $(LDLIBS) -o $@

# A fuzz target linked with the replay driver (corpus + seeded mutations).
$(FUZZ_BIN): $(ASAN)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/driver.c tests/fuzz/fuzz.h $(wildcard tests/*.h) \
            $(ASAN)/libsettlement.a $(ASAN)/libgateway.a $(ASAN)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD/SAN  $@")
	$(Q)$(CC) $(CFLAGS_ASAN) -Itests -DFUZZ_NAME='"$(*:fuzz_%=%)"' $< tests/fuzz/driver.c $(ASAN)/libsettlement.a $(ASAN)/libgateway.a $(ASAN)/libcommon.a $(LDLIBS) -o $@

tests-build: $(UNIT_BIN) $(INTEG_BIN) $(FUZZ_BIN) build

# ---- libFuzzer (make fuzz; needs clang) ---------------------------------------
# The same targets without driver.c, linked with libFuzzer and run for
# FUZZ_SECONDS each by tests/fuzz/libfuzzer.sh. libcommon gets its own
# coverage-instrumented build. clang warns about two things gcc does not here
# (enum sign conversions and ASSERT(!"...")), so those two are off.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ := $(BUILD)/fuzz
CFLAGS_FUZZ := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined $(CFLAGS_BASE) -Wno-sign-conversion -Wno-string-conversion
FUZZ_LIBFUZZER_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ)/%)

$(FUZZ)/%.o: %.c $(SERVICE_HDR)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC/FUZZ $<")
	$(Q)$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ)/libcommon.a: $(COMMON_SRC:%.c=$(FUZZ)/%.o)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ)/libgateway.a: $(GATEWAY_SRC:%.c=$(FUZZ)/%.o)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ)/libsettlement.a: $(SETTLEMENT_SRC:%.c=$(FUZZ)/%.o)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(FUZZ_LIBFUZZER_BIN): $(FUZZ)/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ)/libsettlement.a $(FUZZ)/libgateway.a $(FUZZ)/libcommon.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD/FUZZ $@")
	$(Q)$(FUZZ_CC) $(CFLAGS_FUZZ) -fsanitize=fuzzer -Itests $< $(FUZZ)/libsettlement.a $(FUZZ)/libgateway.a $(FUZZ)/libcommon.a $(LDLIBS) -o $@

fuzz:
	@if ! command -v $(FUZZ_CC) >/dev/null 2>&1; then \
	    echo "make fuzz: $(FUZZ_CC) is not installed, skipping libFuzzer (install clang; make test still replays tests/fuzz/corpus)"; \
	else \
	    $(MAKE) $(if $(Q),-s) --no-print-directory $(FUZZ_LIBFUZZER_BIN) && bash tests/fuzz/libfuzzer.sh $(FUZZ_SECONDS) $(FUZZ_LIBFUZZER_BIN); \
	fi

# ---- entry points ------------------------------------------------------------
setup:
	@bash services/stack/setup.sh

test: setup
	@$(MAKE) --no-print-directory tests-build
	@BUILD_DIR=$(BUILD) bash tests/run.sh

test-unit: setup
	@$(MAKE) --no-print-directory $(UNIT_BIN) $(FUZZ_BIN)
	@BUILD_DIR=$(BUILD) bash tests/run.sh unit

test-integration: setup
	@$(MAKE) --no-print-directory tests-build
	@BUILD_DIR=$(BUILD) bash tests/run.sh integration

run: setup
	@$(MAKE) --no-print-directory build
	@bash services/stack/run.sh

bench: setup
	@$(MAKE) --no-print-directory $(BENCH_BIN) build
	@BUILD_DIR=$(BUILD) bash tests/bench/run.sh

contracts: setup
	@bash contracts-abi/compile.sh

format:
	clang-format -i services/*/*.[ch] tests/*.h tests/*/*.c

clean:
	rm -rf $(BUILD)

distclean: clean
	rm -rf var .tools

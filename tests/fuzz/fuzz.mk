# tests/fuzz/fuzz.mk - libFuzzer target over the USB + DFU/DfuSe core.
#
#   make fuzz                   long run (FUZZ_SECONDS, default 600) of both
#                               option sets in parallel, one core each;
#                               prints executions, corpus, coverage, findings
#   make fuzz FUZZ_SECONDS=60
#   make fuzz-corpus            regenerate tests/fuzz/corpus/ (committed)
#   tests/fuzz/wire.sh          hostile transfers over USB/IP to vboard
#                               (WIRE_SECONDS, WIRE_SEED; part of make test)
#   build/host/fuzz/fuzz_dfu CRASHFILE           replay one input
#   FUZZ_TRACE=1 build/host/fuzz/fuzz_dfu FILE   ... with every operation
#
# Binaries: fuzz_dfu (default options), fuzz_dfu_opts (UPLOAD=0
# UNPROTECT=1 WEBUSB=0 STRICT=1, the options the core reads at compile
# time), fuzz_dfu_break (self-test: the harness corrupts the bootloader,
# the fuzzer must report it). F_SIZE and APP_BASE are run-time in the core,
# so each input picks them (first byte).

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 600
FUZZ_DIR := $(HOSTDIR)/fuzz
FUZZ_CORE := $(wildcard fw/core/*.c)
FUZZ_SRC := tests/fuzz/fuzz_dfu.c tests/fuzz/fuzz_port.c
FUZZ_HDR := $(wildcard fw/core/*.h tests/fuzz/*.h) common/dfuboot_abi.h tests/fuzz/coverage_ignore.txt
FUZZ_CFLAGS := -std=c11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE -Icommon -Ifw/core -Itests/fuzz \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
  -fsanitize-coverage-ignorelist=tests/fuzz/coverage_ignore.txt
FUZZ_OPTS_DEFS := -DCFG_UPLOAD=0 -DCFG_UNPROTECT=1 -DCFG_WEBUSB=0 -DCFG_STRICT=1
FUZZ_BINS := $(FUZZ_DIR)/fuzz_dfu $(FUZZ_DIR)/fuzz_dfu_opts $(FUZZ_DIR)/fuzz_dfu_break \
  $(FUZZ_DIR)/make_corpus

$(FUZZ_DIR)/fuzz_dfu: $(FUZZ_SRC) $(FUZZ_CORE) $(FUZZ_HDR) tests/fuzz/fuzz.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SRC) $(FUZZ_CORE) -o $@

$(FUZZ_DIR)/fuzz_dfu_opts: $(FUZZ_SRC) $(FUZZ_CORE) $(FUZZ_HDR) tests/fuzz/fuzz.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_OPTS_DEFS) $(FUZZ_SRC) $(FUZZ_CORE) -o $@

$(FUZZ_DIR)/fuzz_dfu_break: $(FUZZ_SRC) $(FUZZ_CORE) $(FUZZ_HDR) tests/fuzz/fuzz.mk
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_BREAK=1 $(FUZZ_SRC) $(FUZZ_CORE) -o $@

$(FUZZ_DIR)/make_corpus: tests/fuzz/make_corpus.c tests/fuzz/fuzz_ops.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -Itests/fuzz $< -o $@

# The wire fuzzer is an ordinary libusb client; at run time LD_LIBRARY_PATH
# puts our USB/IP libusb (build/host/libusb-1.0.so.0) in front.
$(FUZZ_DIR)/wire_fuzz: tests/fuzz/wire_fuzz.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) $$(pkg-config --cflags libusb-1.0) $< $$(pkg-config --libs libusb-1.0) -o $@

.PHONY: fuzz-corpus fuzz-bins
fuzz-bins: $(FUZZ_BINS)

fuzz-corpus: $(FUZZ_DIR)/make_corpus
	rm -rf tests/fuzz/corpus && mkdir -p tests/fuzz/corpus
	$(FUZZ_DIR)/make_corpus tests/fuzz/corpus

fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(FUZZ_SECONDS)

TEST_DEPS += $(FUZZ_BINS) $(FUZZ_DIR)/wire_fuzz
TEST_SUITES += tests/fuzz/short.sh tests/fuzz/wire.sh

# tests/fuzz/fuzz.mk - libFuzzer targets over the USB + DFU/DfuSe core and
# over the stamp tool's image checks and DfuSe file reader/writer.
#
#   make fuzz-long              every target for FUZZ_SECONDS (or FUZZ_TIME;
#                               default 3600) at once on all cores (FUZZ_JOBS,
#                               default nproc), at nice 19; prints per target
#                               executions, exec/s, cov/ft, corpus, findings,
#                               and a summary last line; findings are copied
#                               to tests/fuzz/findings/<target>-<name>
#   make fuzz-long FUZZ_SECONDS=60 FUZZ_TARGETS="fuzz_dfu fuzz_dfu_opts"
#   make fuzz                   the same, default 600 s
#   make fuzz-corpus            regenerate the committed seed corpora
#   tests/fuzz/wire.sh          hostile transfers over USB/IP to vboard
#                               (WIRE_SECONDS, WIRE_SEED; part of make test)
#   build/host/fuzz/fuzz_dfu CRASHFILE           replay one input
#   FUZZ_TRACE=1 build/host/fuzz/fuzz_dfu FILE   ... with every operation
#
# Binaries: fuzz_dfu (default options), fuzz_dfu_opts (UPLOAD=0
# UNPROTECT=1 WEBUSB=0 STRICT=1, the options the core reads at compile
# time), fuzz_dfu_break (self-test: the harness corrupts the bootloader,
# the fuzzer must report it). F_SIZE and APP_BASE are run-time in the core,
# so each input picks them (first byte). fuzz_stamp (tools/stamp/stamp.c,
# judged by fw/core/image.c) and fuzz_dfuse (tools/stamp/dfuse_file.c)
# fuzz the host tool; their _break builds are the self-tests of short.sh.

FUZZ_CC ?= clang
FUZZ_DIR := $(HOSTDIR)/fuzz
FUZZ_CORE := $(wildcard fw/core/*.c)
FUZZ_SRC := tests/fuzz/fuzz_dfu.c tests/fuzz/fuzz_port.c
FUZZ_HDR := $(wildcard fw/core/*.h tests/fuzz/*.h) common/dfuboot_abi.h tests/fuzz/coverage_ignore.txt
FUZZ_CFLAGS := -std=c11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE -Icommon -Ifw/core -Itests/fuzz \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
  -fsanitize-coverage-ignorelist=tests/fuzz/coverage_ignore.txt
FUZZ_OPTS_DEFS := -DCFG_UPLOAD=0 -DCFG_UNPROTECT=1 -DCFG_WEBUSB=0 -DCFG_STRICT=1
FUZZ_TOOL_BINS := $(FUZZ_DIR)/fuzz_stamp $(FUZZ_DIR)/fuzz_dfuse \
  $(FUZZ_DIR)/fuzz_stamp_break $(FUZZ_DIR)/fuzz_dfuse_break $(FUZZ_DIR)/make_tool_corpus
FUZZ_BINS := $(FUZZ_DIR)/fuzz_dfu $(FUZZ_DIR)/fuzz_dfu_opts $(FUZZ_DIR)/fuzz_dfu_break \
  $(FUZZ_DIR)/make_corpus $(FUZZ_TOOL_BINS)

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

# The tool fuzzers. CRC loops go without per-comparison feedback
# (tool_coverage_ignore.txt); the comparisons of their results keep it,
# which is how libFuzzer learns a matching CRC.
FUZZ_TOOL_CFLAGS := $(filter-out -fsanitize-coverage-ignorelist=%,$(FUZZ_CFLAGS)) -Itools/stamp \
  -fsanitize-coverage-ignorelist=tests/fuzz/tool_coverage_ignore.txt
FUZZ_STAMP_SRC := tests/fuzz/fuzz_stamp.c tools/stamp/stamp.c tools/stamp/crc32_stm32.c \
  fw/core/image.c fw/core/memmap.c fw/core/crc32_soft.c
FUZZ_DFUSE_SRC := tests/fuzz/fuzz_dfuse.c tools/stamp/dfuse_file.c tools/stamp/stamp.c \
  tools/stamp/crc32_stm32.c
FUZZ_TOOL_HDR := $(wildcard tools/stamp/*.h fw/core/*.h) common/dfuboot_abi.h tests/fuzz/tool_fuzz.h \
  tests/fuzz/tool_coverage_ignore.txt tests/fuzz/fuzz.mk

$(FUZZ_DIR)/fuzz_stamp: $(FUZZ_STAMP_SRC) $(FUZZ_TOOL_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_TOOL_CFLAGS) $(FUZZ_STAMP_SRC) -o $@

$(FUZZ_DIR)/fuzz_stamp_break: $(FUZZ_STAMP_SRC) $(FUZZ_TOOL_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_TOOL_CFLAGS) -DFUZZ_BREAK=1 $(FUZZ_STAMP_SRC) -o $@

$(FUZZ_DIR)/fuzz_dfuse: $(FUZZ_DFUSE_SRC) $(FUZZ_TOOL_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_TOOL_CFLAGS) $(FUZZ_DFUSE_SRC) -o $@

$(FUZZ_DIR)/fuzz_dfuse_break: $(FUZZ_DFUSE_SRC) $(FUZZ_TOOL_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_TOOL_CFLAGS) -DFUZZ_BREAK=1 $(FUZZ_DFUSE_SRC) -o $@

$(FUZZ_DIR)/make_tool_corpus: tests/fuzz/make_tool_corpus.c tools/stamp/stamp.c \
		tools/stamp/crc32_stm32.c tools/stamp/dfuse_file.c $(wildcard tools/stamp/*.h)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -Itools/stamp $(filter %.c,$^) -o $@

# The wire fuzzer is an ordinary libusb client; at run time LD_LIBRARY_PATH
# puts our USB/IP libusb (build/host/libusb-1.0.so.0) in front.
$(FUZZ_DIR)/wire_fuzz: tests/fuzz/wire_fuzz.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) $$(pkg-config --cflags libusb-1.0) $< $$(pkg-config --libs libusb-1.0) -o $@

.PHONY: fuzz-corpus fuzz-bins fuzz-long
fuzz-bins: $(FUZZ_BINS)

fuzz-corpus: $(FUZZ_DIR)/make_corpus $(FUZZ_DIR)/make_tool_corpus
	rm -rf tests/fuzz/corpus tests/fuzz/corpus-stamp tests/fuzz/corpus-dfuse
	mkdir -p tests/fuzz/corpus tests/fuzz/corpus-stamp tests/fuzz/corpus-dfuse
	$(FUZZ_DIR)/make_corpus tests/fuzz/corpus
	$(FUZZ_DIR)/make_tool_corpus tests/fuzz/corpus-stamp tests/fuzz/corpus-dfuse

# FUZZ_SECONDS (or FUZZ_TIME) from the command line or the environment.
fuzz: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(or $(FUZZ_SECONDS),$(FUZZ_TIME),600)

fuzz-long: $(FUZZ_BINS)
	@tests/fuzz/run.sh $(or $(FUZZ_SECONDS),$(FUZZ_TIME),3600)

TEST_DEPS += $(FUZZ_BINS) $(FUZZ_DIR)/wire_fuzz
TEST_SUITES += tests/fuzz/short.sh tests/fuzz/wire.sh

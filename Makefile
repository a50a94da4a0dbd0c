# dfuboot - the menu
#   make                   bootloader for every board (and the APP_BASE variants),
#                          blinky, dfuboot-stamp, vboard and the USB/IP libusb
#   make demo              build everything, update a virtual board with dfu-util
#   make test              every test suite; ends with "N passed, N failed"
#   make bench             the benchmark table: update speed, boot delay, size (issue 10)
#   make fuzz              fuzzing run of the USB/DFU core and the stamp tool (600 s)
#   make fuzz-long         the same for FUZZ_SECONDS (default 3600) on all cores
#   make test-faults       the full power-cut campaign
#   make BOARD=maple_mini  one board (bluepill maple_mini generic_f103rc olimex_h103)
#   make clean

.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD := build
HOSTDIR := $(BUILD)/host

# Firmware options (see README "Configuration").
BOARD ?= bluepill
APP_BASE ?= 0x08002000
VID ?= 0x0483
PID ?= 0xDF11
UPLOAD ?= 1
STRICT ?= 0
DOUBLE_RESET ?= 0
WEBUSB ?= 1

BOARDS := bluepill maple_mini generic_f103rc olimex_h103

HOST_CC ?= gcc
HOST_CFLAGS := -std=c11 -Wall -Wextra -Werror -O1 -g -D_GNU_SOURCE -Icommon
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Fragments add to these.
ALL_TARGETS :=
TEST_DEPS :=
TEST_SUITES :=
BENCH_DEPS :=
BENCH_CMDS :=

include $(wildcard fw/fw.mk app/app.mk vboard/vboard.mk libusb/libusb.mk tests/fuzz/fuzz.mk tests/faults/faults.mk tests/e2e/e2e.mk tests/linux/linux.mk bench/bench.mk)

.PHONY: all build demo test test-run bench bench-run fuzz test-faults clean

all:
	@bash mk/deps.sh build host vboard
	@$(MAKE) --no-print-directory build

build: $(ALL_TARGETS)

test:
	@bash mk/deps.sh build host vboard e2e fuzz
	@$(MAKE) --no-print-directory test-run

test-run: $(TEST_DEPS)
	@bash mk/run-suites.sh $(TEST_SUITES)

bench:
	@bash mk/deps.sh build host vboard e2e
	@$(MAKE) --no-print-directory bench-run

bench-run: $(BENCH_DEPS)
	@set -e; $(foreach c,$(BENCH_CMDS),$(c);)

clean:
	rm -rf $(BUILD)

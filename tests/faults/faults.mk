# tests/faults/faults.mk - fault campaigns against the real bootloader binary
# in vboard (issue #4 items 1, 2 and 5; issue 12 items 1-4).
#
#   make test-faults     the every-operation campaign (everyop.sh): a power
#                        cut at every flash operation of an update, torn
#                        operations, on f103c8 and f103rc, stamped and
#                        unstamped images, four clients' request orders, and
#                        the WRP/RDP builds' option-byte rewrite; SEED=n
#                        replays its torn states, FAULTS_JOBS its width
#   make test-faults-random  the older campaign of random instants
#                        (powercut.sh, SIGKILL of vboard): FAULTS_CUTS per part
#   make test            includes the short forms: everyop.sh --short (every
#                        kind of operation and of torn state, fixed seed),
#                        torn_commit (every bit subset of the commit words),
#                        12 random cuts per part, the other bad endings
#                        (badend.sh) and the security options
#
# Helpers: build/host/faults/cutter (runs vboard, SIGKILLs it at the K-th
# flash operation or after a given line), build/host/faults/usbip-drop (a
# USB/IP client that drops the connection mid-DNLOAD), dfuse_client.py
# (pydfu's order, a client that aborts and restarts).

FAULTS_DIR := $(HOSTDIR)/faults
FAULTS_CUTTER := $(FAULTS_DIR)/cutter
FAULTS_DROP := $(FAULTS_DIR)/usbip-drop
FAULTS_CUTS ?= 500
# Each job spends much of its time in paced vboard runs that sleep:
# 4 jobs kept 2 cores busy (make test-faults: 81 min).
FAULTS_JOBS ?= 4

$(FAULTS_DIR)/%: tests/faults/%.c
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(HOST_CC) $(HOST_CFLAGS) $< -o $@

# An application that attacks the bootloader pages through the FPEC.
$(FAULTS_DIR)/wrp_probe.bin: tests/faults/wrp_probe.c tests/faults/wrp_probe.ld
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@arm-none-eabi-gcc -std=c11 -Wall -Wextra -Werror -Os -mcpu=cortex-m3 -mthumb -ffreestanding \
	  -nostdlib -nostartfiles -T tests/faults/wrp_probe.ld -Wl,-e,reset_handler \
	  -Wl,--no-warn-rwx-segments $< -o $(@:.bin=.elf)
	@arm-none-eabi-objcopy -O binary $(@:.bin=.elf) $@

# The security variants of the bluepill bootloader, built through fw/fw.mk's
# own command-line interface (every other option at its default).
FAULTS_SEC_VARIANTS := UPLOAD=0 WRP=1 RDP=1 UNPROTECT=1
faults_defaults = $(foreach o,$(FW_OPTS),$(o)=$(FW_DEFAULT_$(o)))

.PHONY: faults-fw
faults-fw:
	@$(foreach v,$(FAULTS_SEC_VARIANTS),$(MAKE) --no-print-directory BOARD=bluepill \
	  $(faults_defaults) $(v) build/fw/bluepill-$(call fw_lc,$(firstword $(subst =, ,$(v))))$(lastword $(subst =, ,$(v)))/dfuboot.bin &&) true

FAULTS_NEEDS := $(FAULTS_CUTTER) $(FAULTS_DROP) $(FAULTS_DIR)/wrp_probe.bin $(HOSTDIR)/vboard $(HOSTDIR)/libusb-1.0.so.0 $(STAMP) \
	build/fw/bluepill/dfuboot.bin build/fw/generic_f103rc/dfuboot.bin \
	build/app/bluepill/blinky.bin build/app/generic_f103rc/blinky.bin

.PHONY: test-faults test-faults-run test-faults-random test-faults-random-run
test-faults:
	@bash mk/deps.sh build host vboard e2e
	@$(MAKE) --no-print-directory build faults-fw test-faults-run

test-faults-run: $(FAULTS_NEEDS)
	@bash tests/faults/everyop.sh --jobs $(FAULTS_JOBS)

test-faults-random:
	@bash mk/deps.sh build host vboard e2e
	@$(MAKE) --no-print-directory build test-faults-random-run

test-faults-random-run: $(FAULTS_NEEDS)
	@bash tests/faults/powercut.sh --cuts $(FAULTS_CUTS) --jobs $(FAULTS_JOBS)

TEST_DEPS += $(FAULTS_NEEDS) faults-fw $(FAULTS_DIR)/torn_commit
TEST_SUITES += 'tests/faults/powercut.sh --short' tests/faults/badend.sh tests/faults/security.sh \
	$(FAULTS_DIR)/torn_commit 'tests/faults/everyop.sh --short'

# Issue 12 item 4: every torn state of the commit and invalidation
# half-words against the core's boot check (unit simulator, no sanitizers:
# it runs millions of checks).
$(FAULTS_DIR)/torn_commit: tests/faults/torn_commit.c $(UNIT_CORE) $(UNIT_SUPPORT) $(UNIT_HDR)
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(HOST_CC) $(HOST_CFLAGS) -O2 -Ifw/core -Itests -Itests/unit $< $(UNIT_CORE) $(UNIT_SUPPORT) -o $@

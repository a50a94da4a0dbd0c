# fw/fw.mk - the bootloader (fw/) and its host unit tests (tests/unit/).
#
#   make                                  every board, bluepill APP_BASE variants and
#                                         bluepill with each non-default option
#   make BOARD=maple_mini APP_BASE=0x08008000 UPLOAD=0
#                                         just that configuration
#   build/fw/<board>[-<variant>]/dfuboot.{elf,bin,map}
#
# Options beyond the top Makefile's: WEBUSB_URL, WRP, RDP, UNPROTECT.
# A variant name lists the options that differ from the defaults, e.g.
# bluepill-app08008000, maple_mini-upload0-strict1.

WEBUSB_URL ?= github.com/dfuboot/dfuboot
WRP ?= 0
RDP ?= 0
UNPROTECT ?= 0

FW_CC := arm-none-eabi-gcc
FW_ARCH := -mcpu=cortex-m3 -mthumb
# Size (bytes each saves on the default bluepill build, measured against
# the final code): one LTO unit gains nothing from -ffunction-sections or
# -fdata-sections, and without the latter the globals share one section
# anchor, so a function reaches them all through one literal (112 with both
# gone); -fno-move-loop-invariants (48), -fno-schedule-insns2 (12),
# -fno-tree-loop-optimize (24), -fno-tree-coalesce-vars (20) and
# -fno-ipa-modref (8) stop hoisting, reordering and loop rewrites that cost
# registers and spills on these short loops.
FW_SIZE_FLAGS := -fsection-anchors -fno-move-loop-invariants -fno-schedule-insns2 \
  -fno-tree-loop-optimize -fno-tree-coalesce-vars -fno-ipa-modref
FW_CFLAGS := -std=c11 -Wall -Wextra -Werror -Os -g $(FW_ARCH) -ffreestanding \
  $(FW_SIZE_FLAGS) -fno-jump-tables -flto -fno-common -Icommon -Ifw/core -Ifw/port/stm32f1
FW_LD := fw/port/stm32f1/dfuboot.ld
FW_LDFLAGS := $(FW_ARCH) -nostdlib -nostartfiles -Wl,--gc-sections -flto -T$(FW_LD)
FW_SRC := $(filter-out fw/core/crc32_soft.c,$(wildcard fw/core/*.c)) \
  $(wildcard fw/port/stm32f1/*.c)
FW_HDR := $(wildcard fw/core/*.h fw/port/stm32f1/*.h common/*.h)

# name=value pairs that make up a configuration, in variant-name order.
FW_OPTS := APP_BASE VID PID UPLOAD STRICT DOUBLE_RESET WEBUSB WRP RDP UNPROTECT
FW_DEFAULT_APP_BASE := 0x08002000
FW_DEFAULT_VID := 0x0483
FW_DEFAULT_PID := 0xDF11
FW_DEFAULT_UPLOAD := 1
FW_DEFAULT_STRICT := 0
FW_DEFAULT_DOUBLE_RESET := 0
FW_DEFAULT_WEBUSB := 1
FW_DEFAULT_WRP := 0
FW_DEFAULT_RDP := 0
FW_DEFAULT_UNPROTECT := 0

fw_lc = $(shell echo '$(1)' | tr 'A-Z' 'a-z' | tr -d '_')
fw_tag = $(if $(filter APP_BASE,$(1)),app$(patsubst 0x%,%,$(2)),$(call fw_lc,$(1))$(patsubst 0x%,%,$(2)))
# $(1)=board, then the option values in FW_OPTS order via variables FWV_<opt>
fw_empty :=
fw_space := $(fw_empty) $(fw_empty)
fw_name = $(subst $(fw_space),,$(1)$(foreach o,$(FW_OPTS),$(if $(filter-out $(FW_DEFAULT_$(o)),$(FWV_$(o))),-$(call fw_tag,$(o),$(FWV_$(o))))))
fw_defs = -DCFG_APP_BASE=$(FWV_APP_BASE)u -DCFG_VID=$(FWV_VID) -DCFG_PID=$(FWV_PID) \
  -DCFG_UPLOAD=$(FWV_UPLOAD) -DCFG_STRICT=$(FWV_STRICT) -DCFG_DOUBLE_RESET=$(FWV_DOUBLE_RESET) \
  -DCFG_WEBUSB=$(FWV_WEBUSB) '-DCFG_WEBUSB_URL="$(WEBUSB_URL)"' -DCFG_WRP=$(FWV_WRP) \
  -DCFG_RDP=$(FWV_RDP) -DCFG_UNPROTECT=$(FWV_UNPROTECT)

# $(1)=directory name, $(2)=board, $(3)=-D flags, $(4)=APP_BASE
define fw_config
build/fw/$(1)/dfuboot.elf: $(FW_SRC) $(FW_HDR) $(FW_LD) fw/boards/$(2).h fw/fw.mk
	@mkdir -p $$(@D)
	@echo "  FW    $$@ ($(2), APP_BASE $(4))"
	@$(FW_CC) $(FW_CFLAGS) -include fw/boards/$(2).h $(3) $(FW_SRC) $(FW_LDFLAGS) \
	  -Wl,--defsym=__app_base=$(4) -Wl,-Map=build/fw/$(1)/dfuboot.map -o $$@
build/fw/$(1)/dfuboot.bin: build/fw/$(1)/dfuboot.elf
	@arm-none-eabi-objcopy -O binary $$< $$@
	@bash tests/unit/size_budget.sh $$<
endef

# A configuration from FWV_* values.
define fw_add
$(eval FW_NAME := $(call fw_name,$(1)))
$(if $(filter $(FW_NAME),$(FW_BUILT)),,$(eval FW_BUILT += $(FW_NAME))$(eval $(call fw_config,$(FW_NAME),$(1),$(fw_defs),$(FWV_APP_BASE))))
$(eval ALL_TARGETS += build/fw/$(FW_NAME)/dfuboot.bin)
endef

fw_set_defaults = $(foreach o,$(FW_OPTS),$(eval FWV_$(o) := $(FW_DEFAULT_$(o))))
fw_set_current = $(foreach o,$(FW_OPTS),$(eval FWV_$(o) := $($(o))))

FW_BUILT :=
FW_CMDLINE := $(strip $(foreach o,BOARD $(FW_OPTS),$(filter command line,$(origin $(o)))))
ifeq ($(FW_CMDLINE),)
$(call fw_set_defaults)
$(foreach b,$(BOARDS),$(call fw_add,$(b)))
FWV_APP_BASE := 0x08008000
$(call fw_add,bluepill)
# One option at a time, for the end-to-end and security tests (issue #4).
FW_EXTRA_OPTS := UPLOAD=0 STRICT=1 DOUBLE_RESET=1 WEBUSB=0 WRP=1 RDP=1 UNPROTECT=1
$(foreach kv,$(FW_EXTRA_OPTS),$(call fw_set_defaults)$(eval FWV_$(word 1,$(subst =, ,$(kv))) := $(word 2,$(subst =, ,$(kv))))$(call fw_add,bluepill))
endif
# The configuration the command line (or the defaults) asks for.
$(call fw_set_current)
$(call fw_add,$(BOARD))
FW_CURRENT := build/fw/$(FW_NAME)

# The default bluepill build carries the size budget.
$(call fw_set_defaults)
$(call fw_add,bluepill)
FW_BUDGET_ELF := build/fw/bluepill/dfuboot.elf

.PHONY: fw-size
fw-size: $(FW_BUDGET_ELF)
	@bash tests/unit/size_budget.sh $<

# ---- host unit tests -------------------------------------------------------
UNIT_DIR := $(HOSTDIR)/unit
UNIT_CORE := $(wildcard fw/core/*.c)
UNIT_SUPPORT := tests/unit/sim.c tests/testing.c
UNIT_HDR := $(wildcard fw/core/*.h tests/unit/*.h) tests/testing.h common/dfuboot_abi.h
UNIT_CFLAGS := $(HOST_CFLAGS) $(SAN_FLAGS) -Ifw/core -Itests -Itests/unit
UNIT_NAMES := layout flash_writer image_boot usb_ctrl dfu interrupted deferred
UNIT_BINS := $(foreach n,$(UNIT_NAMES),$(UNIT_DIR)/test_$(n)) $(UNIT_DIR)/test_options

$(UNIT_DIR)/test_%: tests/unit/test_%.c $(UNIT_CORE) $(UNIT_SUPPORT) $(UNIT_HDR) fw/fw.mk
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(HOST_CC) $(UNIT_CFLAGS) $< $(UNIT_CORE) $(UNIT_SUPPORT) -o $@

# The same core built with the non-default options it reads at compile time.
$(UNIT_DIR)/test_options: tests/unit/test_options.c $(UNIT_CORE) $(UNIT_SUPPORT) $(UNIT_HDR) fw/fw.mk
	@mkdir -p $(@D)
	@echo "  CC    $@"
	@$(HOST_CC) $(UNIT_CFLAGS) -DCFG_UPLOAD=0 -DCFG_UNPROTECT=1 -DCFG_WEBUSB=0 -DCFG_STRICT=1 \
	  $< $(UNIT_CORE) $(UNIT_SUPPORT) -o $@

TEST_DEPS += $(UNIT_BINS) $(FW_BUDGET_ELF)
TEST_SUITES += $(UNIT_BINS) 'tests/unit/size_budget.sh --check $(FW_BUDGET_ELF)' tests/unit/hse_check.sh

# boot_clocks.sh: the clock registers at the application's first instruction
# (tests/stamp/regdump.S behind the bluepill builds, on vboard).
BOOT_CLOCKS_FW := build/fw/bluepill/dfuboot.bin build/fw/bluepill-doublereset1/dfuboot.bin
ifeq ($(filter-out $(ALL_TARGETS),$(BOOT_CLOCKS_FW)),)
TEST_DEPS += $(BOOT_CLOCKS_FW) $(HOSTDIR)/vboard $(HOSTDIR)/dfuboot-stamp
TEST_SUITES += "tests/stamp/boot_clocks.sh $(HOSTDIR)/vboard build/fw"
endif

# vboard/vboard.mk - the virtual STM32F103 board and its tests.
#
# Every vboard/*.c is part of build/host/vboard. The peripheral models are
# every vboard/*.c except the board files (main.c, vb.c, cpu.c); each
# tests/vboard/test_*.c becomes one test binary linking all model objects
# with tests/vboard/fake_vb.c and tests/testing.c (no CPU, no Unicorn).
# Until vboard/usb.c and usb_host.c exist, weak stand-ins in vb.c keep
# vboard linking (a board without USB); the real files replace them.

VB_SRCS := $(wildcard vboard/*.c)
VB_BOARD_SRCS := vboard/main.c vboard/vb.c vboard/cpu.c
VB_MODEL_SRCS := $(filter-out $(VB_BOARD_SRCS),$(VB_SRCS))
VB_OBJDIR := $(HOSTDIR)/obj/vboard
VB_OBJS := $(patsubst vboard/%.c,$(VB_OBJDIR)/%.o,$(VB_SRCS))
VB_MODEL_OBJS := $(patsubst vboard/%.c,$(VB_OBJDIR)/%.o,$(VB_MODEL_SRCS))
VB_CFLAGS := $(HOST_CFLAGS) $(shell pkg-config --cflags unicorn 2>/dev/null)
VB_LIBS := $(or $(shell pkg-config --libs unicorn 2>/dev/null),-lunicorn) -lpthread -lm

VB_TEST_DIR := $(HOSTDIR)/tests/vboard
VB_TEST_SRCS := $(wildcard tests/vboard/test_*.c)
VB_TEST_BINS := $(patsubst tests/vboard/%.c,$(VB_TEST_DIR)/%,$(VB_TEST_SRCS))
VB_TEST_SUPPORT := tests/vboard/fake_vb.c tests/testing.c

# Small Thumb programs for the CPU integration tests (tests/vboard/fw/*.S).
VB_FW_SRCS := $(wildcard tests/vboard/fw/*.S)
VB_FW_ELFS := $(patsubst tests/vboard/fw/%.S,$(VB_TEST_DIR)/fw/%.elf,$(VB_FW_SRCS))
ARM_CC ?= arm-none-eabi-gcc

$(VB_OBJDIR) $(VB_TEST_DIR) $(VB_TEST_DIR)/fw:
	@mkdir -p $@

$(VB_OBJDIR)/%.o: vboard/%.c | $(VB_OBJDIR)
	$(HOST_CC) $(VB_CFLAGS) -MMD -MP -c $< -o $@

$(HOSTDIR)/vboard: $(VB_OBJS)
	$(HOST_CC) $(VB_CFLAGS) $^ -o $@ $(VB_LIBS)

$(VB_TEST_DIR)/test_%: tests/vboard/test_%.c $(VB_MODEL_OBJS) $(VB_TEST_SUPPORT) | $(VB_TEST_DIR)
	$(HOST_CC) $(VB_CFLAGS) -MMD -MP $< $(VB_TEST_SUPPORT) $(VB_MODEL_OBJS) -o $@ -lpthread -lm

$(VB_TEST_DIR)/fw/%.elf: tests/vboard/fw/%.S | $(VB_TEST_DIR)/fw
	$(ARM_CC) -mcpu=cortex-m3 -mthumb -nostdlib -nostartfiles -Wl,-Ttext=0x08000000 -Wl,-e,0x08000000 \
	    $< -o $@

-include $(VB_OBJS:.o=.d) $(VB_TEST_BINS:=.d)

ALL_TARGETS += $(HOSTDIR)/vboard
TEST_DEPS += $(HOSTDIR)/vboard $(VB_TEST_BINS) $(VB_FW_ELFS)
TEST_SUITES += $(VB_TEST_BINS) "tests/vboard/integration.sh $(HOSTDIR)/vboard $(VB_TEST_DIR)/fw"

.PHONY: vboard vboard-test
vboard: $(HOSTDIR)/vboard
vboard-test: $(VB_TEST_BINS) $(VB_FW_ELFS) $(HOSTDIR)/vboard
	@bash mk/run-suites.sh $(VB_TEST_BINS) "tests/vboard/integration.sh $(HOSTDIR)/vboard $(VB_TEST_DIR)/fw"

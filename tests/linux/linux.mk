# tests/linux/linux.mk - the real-Linux-host suite (issue 9): a Debian kernel
# in QEMU attaches vboard over USB/IP and runs the real libusb, dfu-util,
# lsusb and pyusb against the real bootloader (tests/linux/linux.sh).
#   make test-linux   the full suite (also installs the deps group `linux`)
#   make test         runs it too, through TEST_SUITES
# The guest (kernel package, initramfs) is built at test time from Debian
# packages into build/linux/ by tests/linux/guest.sh; nothing binary is
# committed.

LINUX_DEPS := $(HOSTDIR)/vboard $(HOSTDIR)/libusb-1.0.so.0 $(STAMP) \
	$(filter $(ALL_TARGETS),build/fw/bluepill/dfuboot.bin build/app/bluepill/blinky.stamped.bin \
	build/app/bluepill-reboot/blinky.stamped.bin)

# `make test`'s own deps line does not name this group: installing it is a
# prerequisite of the suite instead.
.PHONY: linux-deps test-linux
linux-deps:
	@bash mk/deps.sh linux

TEST_DEPS += linux-deps $(LINUX_DEPS)
# LINUX_TEST_ARGS=--core: the subset (see tests/linux/linux.sh).
TEST_SUITES += 'tests/linux/linux.sh $(LINUX_TEST_ARGS)'

test-linux:
	@bash mk/deps.sh build host vboard e2e linux
	@$(MAKE) --no-print-directory $(LINUX_DEPS)
	@bash mk/run-suites.sh tests/linux/linux.sh

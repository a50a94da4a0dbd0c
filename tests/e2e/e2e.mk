# tests/e2e/e2e.mk - end-to-end suites (stock dfu-util and lsusb through the
# USB/IP libusb against the real bootloader binaries in vboard) and `make demo`.
#
# Each suite is a bash script sourcing tests/e2e/lib.sh and ending with
# "N passed, N failed". dfuse_probe makes the raw DfuSe requests and vendor
# descriptor reads the stock tools cannot (see its header).

E2E_PROBE := $(HOSTDIR)/e2e/dfuse_probe
E2E_SUITES := listing download upload mass_erase protect entry app_base parts multi lsusb \
	noisy noreset pyusb dfu_file runtime will_reset mass_erase_slow

$(E2E_PROBE): tests/e2e/dfuse_probe.c tests/e2e/e2e.mk
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) $$(pkg-config --cflags libusb-1.0) $< -o $@ $$(pkg-config --libs libusb-1.0)

# What the suites run: the bootloaders, the blinky variants, vboard, the
# libusb, the stamp tool, the probe. (Images that a `make BOARD=...` run does
# not define are left out; the suites then report them missing.)
E2E_IMAGES := build/fw/bluepill/dfuboot.bin build/fw/bluepill-app08008000/dfuboot.bin \
	build/fw/generic_f103rc/dfuboot.bin \
	build/app/bluepill/blinky.stamped.bin build/app/bluepill-reboot/blinky.stamped.bin \
	build/app/bluepill-app08008000/blinky.stamped.bin \
	build/app/generic_f103rc/blinky.stamped.bin build/fw/bluepill-webusb0/dfuboot.bin \
	build/app/bluepill/blinky.dfu build/app/bluepill/dfu-runtime.dfu \
	build/app/bluepill/dfu-runtime-v2.dfu build/app/maple_mini/dfu-runtime.dfu \
	build/app/maple_mini/dfu-runtime-v2.dfu build/fw/maple_mini/dfuboot.bin
E2E_DEPS := $(E2E_PROBE) $(HOSTDIR)/vboard $(HOSTDIR)/libusb-1.0.so.0 $(STAMP) \
	$(filter $(ALL_TARGETS),$(E2E_IMAGES))

# Not in ALL_TARGETS: it needs libusb-1.0-0-dev (deps group e2e), which a
# plain `make` does not install.
TEST_DEPS += $(E2E_DEPS)
TEST_SUITES += $(foreach s,$(E2E_SUITES),tests/e2e/$(s).sh)

demo:
	@bash mk/deps.sh build host vboard e2e
	@$(MAKE) --no-print-directory build
	@bash tests/e2e/demo.sh

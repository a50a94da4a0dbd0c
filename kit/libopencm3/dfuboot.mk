# dfuboot.mk - include from a libopencm3 project Makefile after its rules:
#   DFUBOOT_APP_BASE := 0x08002000      # the bootloader's APP_BASE
#   include path/to/kit/libopencm3/dfuboot.mk
# Then `make blinky.stamped.bin` stamps, `make dfu-blinky` flashes over USB.
DFUBOOT_APP_BASE ?= 0x08002000
DFUBOOT_STAMP ?= dfuboot-stamp
DFU_UTIL ?= dfu-util

# The stamp records length and CRC-32; the bootloader starts the image only
# if they match, so a half-written update never runs.
%.stamped.bin: %.bin
	$(DFUBOOT_STAMP) --base $(DFUBOOT_APP_BASE) -o $@ $<

# Download and start it (":leave" makes the bootloader run the new image).
dfu-%: %.stamped.bin
	$(DFU_UTIL) -d 0483:df11 -a 0 -s $(DFUBOOT_APP_BASE):leave -D $<

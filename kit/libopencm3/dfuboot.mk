# dfuboot.mk - include from a libopencm3 project Makefile after its rules:
#   DFUBOOT_APP_BASE := 0x08002000      # the bootloader's APP_BASE
#   include path/to/kit/libopencm3/dfuboot.mk
# Then `make blinky.stamped.bin` stamps, `make blinky.dfu` writes the DfuSe
# file, `make dfu-blinky` flashes over USB.
DFUBOOT_APP_BASE ?= 0x08002000
DFUBOOT_STAMP ?= dfuboot-stamp
DFU_UTIL ?= dfu-util

# The stamp records length and CRC-32; the bootloader starts the image only
# if they match, so a half-written update never runs.
%.stamped.bin: %.bin
	$(DFUBOOT_STAMP) --base $(DFUBOOT_APP_BASE) -o $@ $<

# The same image as a DfuSe file (address and the bootloader's USB IDs in
# it): dfu-util -a 0 -s :leave -D blinky.dfu needs no address, and an
# application with a DFU runtime interface takes it with one command:
# dfu-util -d <its VID:PID>,0483:df11 -a 0 -s :leave -D blinky.dfu
%.dfu: %.stamped.bin
	$(DFUBOOT_STAMP) --base $(DFUBOOT_APP_BASE) --dfu $@ $<

# Download and start it (":leave" makes the bootloader run the new image).
dfu-%: %.stamped.bin
	$(DFU_UTIL) -d 0483:df11 -a 0 -s $(DFUBOOT_APP_BASE):leave -D $<

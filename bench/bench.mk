# bench/bench.mk - `make bench`: issue 10's benchmark table (bench/bench.sh).
#
# One table for f103c8 (bluepill build) and f103rc (generic_f103rc build):
# update speed (first update, same image, one page / every fourth page
# changed) next to the datasheet time of the flash work the images need,
# upload, boot delay and bootloader size, each with its goal and a pass/miss
# mark. Stock dfu-util against vboard --realtime; images made by
# bench/images.py. Printed and written to build/bench/results.md. Exits
# non-zero only when a figure could not be measured (a missed goal is a mark).
# Not part of `make test`: benchmarks are not timed tests.
#
# Included after the other fragments, so ALL_TARGETS is complete here.

# dfuboot.bin comes with its .elf, blinky.stamped.bin with blinky.bin.
BENCH_IMAGES := build/fw/bluepill/dfuboot.bin build/fw/generic_f103rc/dfuboot.bin \
	build/app/bluepill/blinky.stamped.bin build/app/generic_f103rc/blinky.stamped.bin

BENCH_DEPS += $(HOSTDIR)/vboard $(HOSTDIR)/libusb-1.0.so.0 $(HOSTDIR)/dfuboot-stamp \
	$(filter $(ALL_TARGETS),$(BENCH_IMAGES))
# One word: the top Makefile runs each BENCH_CMDS word as a command
# (bench.sh is executable).
BENCH_CMDS += bench/bench.sh

# The image maker's flash-work counting is a unit suite of `make test` (fast,
# no timing); the bench itself is not.
TEST_SUITES += bench/test_images.sh

# bench/bench.mk - `make bench`: size and speed figures (bench/bench.sh).
#
# Prints readable tables and writes them to build/bench/results.md, each figure
# with the command that reproduces it. Sizes: every dfuboot.elf under build/fw/.
# Speed: stock dfu-util against vboard --realtime (bluepill on f103c8,
# generic_f103rc on f103rc). Exits non-zero when a figure could not be measured.
#
# Included after the other fragments, so ALL_TARGETS is complete here.

BENCH_IMAGES := build/fw/bluepill/dfuboot.bin build/fw/generic_f103rc/dfuboot.bin \
	build/app/bluepill/blinky.stamped.bin build/app/generic_f103rc/blinky.stamped.bin

BENCH_DEPS += $(HOSTDIR)/vboard $(HOSTDIR)/libusb-1.0.so.0 $(HOSTDIR)/dfuboot-stamp \
	$(sort $(filter build/fw/%,$(ALL_TARGETS)) $(filter $(ALL_TARGETS),$(BENCH_IMAGES)))
# One word: the top Makefile runs each BENCH_CMDS word as a command
# (bench.sh is executable).
BENCH_CMDS += bench/bench.sh

#!/usr/bin/python3
"""dfuse_client.py - DfuSe updates in the request orders of clients other
than dfu-util, for the every-operation power-cut campaign (everyop.sh).
Runs through the libusb named by $LIBUSB_SO (the USB/IP one: set
LIBUSB_USBIP_SERVERS), with Debian's pyusb.

Usage: dfuse_client.py ORDER ADDR FILE PAGE_SIZE
  pydfu          MicroPython's pydfu.py order: SET_CONFIGURATION, claim
                 interface 0 without SET_INTERFACE, CLRSTATUS; then for each
                 page: ERASE PAGE, then its blocks, each as SET ADDRESS
                 POINTER + DNLOAD block 2; GETSTATUS polled without waiting
                 bwPollTimeout; exit_dfu: SET ADDRESS POINTER to ADDR and a
                 zero-length DNLOAD.
  abort-restart  dfu-util's order (every page erased first, then each block
                 as SET ADDRESS POINTER + DNLOAD block 2, bwPollTimeout
                 waited), blocks of 256 bytes; after half of them an ABORT,
                 as a user's "cancel" sends it, then the whole update again
                 from the start, ended with a zero-length DNLOAD.
  abort          the same up to the ABORT, then nothing: a user's "cancel".
Prints "done" and exits 0 when the device accepted everything; exits 1 with
a "FAIL ..." line otherwise (e.g. when the power was cut under it).
"""
import os
import sys
import time

import usb.backend.libusb1
import usb.core
import usb.util

VID, PID = 0x0483, 0xDF11
DNLOAD, GETSTATUS, CLRSTATUS, ABORT = 1, 3, 4, 6  # DFU 1.1 table 3.2
IDLE, DNBUSY, DNLOAD_IDLE, MANIFEST, ERROR = 2, 4, 5, 7, 10  # DFU 1.1 6.1.2
TIMEOUT_MS = 5000


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


class Dev:
    def __init__(self, dfu_util_style):
        so = os.environ["LIBUSB_SO"]
        be = usb.backend.libusb1.get_backend(find_library=lambda _name: so)
        devs = list(usb.core.find(find_all=True, backend=be, idVendor=VID, idProduct=PID))
        if len(devs) != 1:
            fail("expected one device, found %d" % len(devs))
        self.d = devs[0]
        self.xfer = 1024
        for alt in self.d.get_active_configuration():
            extra = bytes(alt.extra_descriptors)
            if len(extra) >= 9 and extra[1] == 0x21:
                self.xfer = extra[5] | extra[6] << 8
        if dfu_util_style:
            usb.util.claim_interface(self.d, 0)
            self.d.set_interface_altsetting(0, 0)
        else:
            self.d.set_configuration()  # pydfu's init()
            usb.util.claim_interface(self.d, 0)
        self.clear()

    def clear(self):
        # pydfu's init: to dfuIDLE by CLRSTATUS from dfuERROR (errNOTDONE
        # after a dropped session), by ABORT from the idle states.
        st, state = self.status()
        if state == ERROR:
            self.d.ctrl_transfer(0x21, CLRSTATUS, 0, 0, None, TIMEOUT_MS)
        elif state != IDLE:
            self.d.ctrl_transfer(0x21, ABORT, 0, 0, None, TIMEOUT_MS)
        st, state = self.status()
        if st != 0 or state != IDLE:
            fail("cannot reach dfuIDLE: bStatus %d bState %d" % (st, state))

    def status(self, wait=False):
        s = self.d.ctrl_transfer(0xA1, GETSTATUS, 0, 0, 6, 20000)
        if wait:  # dfu-util waits bwPollTimeout; pydfu does not
            time.sleep((s[1] | s[2] << 8 | s[3] << 16) / 1000.0)
        return s[0], s[4]

    def dnload(self, block, data, wait, what):
        self.d.ctrl_transfer(0x21, DNLOAD, block, 0, data, TIMEOUT_MS)
        st, state = self.status(wait)
        while state == DNBUSY:
            st, state = self.status(wait)
        if st != 0 or state not in (DNLOAD_IDLE, MANIFEST):
            fail("%s: bStatus %d bState %d" % (what, st, state))

    def cmd(self, code, addr, wait, what):  # UM0424 DfuSe commands, block 0
        self.dnload(0, bytes([code]) + addr.to_bytes(4, "little"), wait, what)

    def leave(self, addr, wait):
        self.cmd(0x21, addr, wait, "set address before leave")
        self.d.ctrl_transfer(0x21, DNLOAD, 0, 0, None, TIMEOUT_MS)
        try:
            self.status()
        except usb.core.USBError:
            pass  # the device may already be gone: it resets to start the image


def pages(addr, size, page):
    first = addr & ~(page - 1)
    return range(first, addr + size, page)


def pydfu(addr, data, page):
    d = Dev(False)
    off = 0
    while off < len(data):
        pa = (addr + off) & ~(page - 1)
        d.cmd(0x41, pa, False, "erase 0x%08x" % pa)
        end = min(len(data), pa + page - addr)
        while off < end:
            n = min(d.xfer, end - off)
            d.cmd(0x21, addr + off, False, "set address 0x%08x" % (addr + off))
            d.dnload(2, data[off:off + n], False, "block at 0x%08x" % (addr + off))
            off += n
    d.leave(addr, False)


def dfu_util_order(d, addr, data, page, chunk, stop_after=None):
    for pa in pages(addr, len(data), page):
        d.cmd(0x41, pa, True, "erase 0x%08x" % pa)
    for i, off in enumerate(range(0, len(data), chunk)):
        if stop_after is not None and i == stop_after:
            return
        d.cmd(0x21, addr + off, True, "set address 0x%08x" % (addr + off))
        d.dnload(2, data[off:off + chunk], True, "block at 0x%08x" % (addr + off))


def cancel_midway(addr, data, page):
    """dfu-util's order up to half of the blocks, then an ABORT, as a user's
    "cancel" sends it. Returns the device and the block size."""
    d = Dev(True)
    # Blocks of 256 bytes (a client may send less than wTransferSize), so
    # that even a small image has a middle to abort in.
    chunk = min(256, d.xfer)
    nchunks = (len(data) + chunk - 1) // chunk
    dfu_util_order(d, addr, data, page, chunk, stop_after=max(1, nchunks // 2))
    d.d.ctrl_transfer(0x21, ABORT, 0, 0, None, TIMEOUT_MS)
    return d, chunk


def abort_restart(addr, data, page):
    d, chunk = cancel_midway(addr, data, page)
    d.clear()  # errNOTDONE, if the device dropped the session
    dfu_util_order(d, addr, data, page, chunk)
    d.leave(addr, True)


def abort_only(addr, data, page):
    d, _ = cancel_midway(addr, data, page)
    d.status()


def main():
    if len(sys.argv) != 5:
        fail("usage: dfuse_client.py pydfu|abort-restart|abort ADDR FILE PAGE_SIZE")
    order, addr, data, page = sys.argv[1], int(sys.argv[2], 0), open(sys.argv[3], "rb").read(), \
        int(sys.argv[4], 0)
    if len(data) % 2:
        data += b"\xff"
    run = {"pydfu": pydfu, "abort-restart": abort_restart, "abort": abort_only}.get(order)
    if run is None:
        fail("unknown order %s" % order)
    try:
        run(addr, data, page)
    except usb.core.USBError as e:
        fail("USB error: %s" % e)
    print("done", flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""pyusb_dfu.py - Debian's pyusb (python3-usb 1.2.1) drives the bootloader
through the libusb named by $LIBUSB_SO: list, strings, the DFU functional
descriptor (DFU 1.1 4.1.3 / UM0424: bDescriptorType 0x21), GETSTATUS, a DfuSe
short UPLOAD, and an asynchronous-capable backend (pyusb binds
libusb_alloc_transfer & co. at load, "No backend available" without them).

Usage: pyusb_dfu.py CHECK [ARGS]; prints "ok ..." lines or one "FAIL ..."
and exits non-zero.
  info                 list the device, strings, functional descriptor
  upload ADDR FILE     DfuSe: set the address pointer, UPLOAD len(FILE)
                       bytes as block 2, compare with FILE
  reset                libusb_reset_device (Device.reset())
  hold SECONDS         claim interface 0, say so, keep it that long
"""
import os
import sys
import time

import usb.backend.libusb1
import usb.core
import usb.util

VID, PID = 0x0483, 0xDF11
# DFU 1.1 table 3.2 requests; 6.1.2 states.
DNLOAD, UPLOAD, GETSTATUS, ABORT = 1, 2, 3, 6
DFU_IDLE, DFU_DNLOAD_IDLE, DFU_UPLOAD_IDLE = 2, 5, 9
TIMEOUT_MS = 5000


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def backend():
    so = os.environ["LIBUSB_SO"]
    be = usb.backend.libusb1.get_backend(find_library=lambda _name: so)
    if be is None:
        fail("pyusb found no backend in %s (No backend available)" % so)
    return be


def device(be):
    devs = list(usb.core.find(find_all=True, backend=be, idVendor=VID, idProduct=PID))
    if len(devs) != 1:
        fail("expected one %04x:%04x device; found %d" % (VID, PID, len(devs)))
    return devs[0]


def getstatus(dev):
    s = dev.ctrl_transfer(0xA1, GETSTATUS, 0, 0, 6, TIMEOUT_MS)
    if len(s) != 6:
        fail("GETSTATUS returned %d bytes, DFU 1.1 6.1.2 says 6" % len(s))
    return s[0], s[4]  # bStatus, bState


def info(dev):
    print("ok   found %04x:%04x bus %d address %d" % (dev.idVendor, dev.idProduct, dev.bus,
                                                     dev.address))
    manu, prod = dev.manufacturer, dev.product
    serial = dev.serial_number
    if not manu or not prod or not serial:
        fail("strings: manufacturer %r product %r serial %r" % (manu, prod, serial))
    print("ok   strings %r %r %r" % (manu, prod, serial))
    cfg = dev.get_active_configuration()
    intf = cfg[(0, 0)]
    if intf.bInterfaceClass != 0xFE or intf.bInterfaceSubClass != 1:
        fail("interface 0 class %02x/%02x, expected FE/01 (DFU 1.1 4.2.3)"
             % (intf.bInterfaceClass, intf.bInterfaceSubClass))
    # The functional descriptor follows the interface descriptors: libusb
    # hands it over as the "extra" bytes of the altsetting before it.
    func = None
    for alt in cfg:
        extra = bytes(alt.extra_descriptors)
        i = 0
        while i + 1 < len(extra) and extra[i] >= 2:
            if extra[i + 1] == 0x21 and extra[i] >= 9:
                func = extra[i:i + 9]
            i += extra[i]
    if func is None:
        fail("no DFU functional descriptor (type 0x21) in any interface's extra bytes")
    attrs, detach, xfer, ver = func[2], func[3] | func[4] << 8, func[5] | func[6] << 8, \
        func[7] | func[8] << 8
    print("ok   DFU functional descriptor: bmAttributes 0x%02x wTransferSize %d bcdDFUVersion %04x"
          % (attrs, xfer, ver))
    usb.util.claim_interface(dev, 0)
    st, state = getstatus(dev)
    if st != 0 or state not in (DFU_IDLE, DFU_DNLOAD_IDLE, DFU_UPLOAD_IDLE):
        fail("GETSTATUS: bStatus %d bState %d" % (st, state))
    print("ok   GETSTATUS bStatus %d bState %d" % (st, state))
    usb.util.release_interface(dev, 0)
    del detach


def upload(dev, addr, path):
    want = open(path, "rb").read()
    usb.util.claim_interface(dev, 0)
    dev.set_interface_altsetting(0, 0)
    # UM0424 / AN3156: DfuSe "Set Address Pointer" is DNLOAD block 0 with
    # 0x21 and the address; the command runs on the next GETSTATUS.
    cmd = bytes([0x21]) + addr.to_bytes(4, "little")
    dev.ctrl_transfer(0x21, DNLOAD, 0, 0, cmd, TIMEOUT_MS)
    for _ in range(10):
        st, state = getstatus(dev)
        if state == DFU_DNLOAD_IDLE:
            break
    if st != 0 or state != DFU_DNLOAD_IDLE:
        fail("set address pointer: bStatus %d bState %d" % (st, state))
    dev.ctrl_transfer(0x21, ABORT, 0, 0, None, TIMEOUT_MS)
    # Block 2 reads from the pointer (DfuSe: address = pointer + (n - 2) * size).
    got = bytes(dev.ctrl_transfer(0xA1, UPLOAD, 2, 0, len(want), TIMEOUT_MS))
    dev.ctrl_transfer(0x21, ABORT, 0, 0, None, TIMEOUT_MS)
    usb.util.release_interface(dev, 0)
    if got != want:
        fail("UPLOAD of %d bytes at 0x%08x differs: got %s..." % (len(want), addr, got[:8].hex()))
    print("ok   UPLOAD %d bytes at 0x%08x equal" % (len(got), addr))


def main():
    be = backend()
    dev = device(be)
    what = sys.argv[1] if len(sys.argv) > 1 else "info"
    if what == "info":
        info(dev)
    elif what == "upload":
        upload(dev, int(sys.argv[2], 0), sys.argv[3])
    elif what == "reset":
        dev.reset()
        print("ok   reset")
    elif what == "hold":
        usb.util.claim_interface(dev, 0)
        print("ok   claimed interface 0", flush=True)
        time.sleep(float(sys.argv[2]))
        usb.util.release_interface(dev, 0)
    else:
        fail("unknown check %s" % what)
    usb.util.dispose_resources(dev)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""bench/images.py - the images `make bench` writes, and the flash work they need.

  images.py dense OUT SIZE SEED [VECTORS.bin]
      SIZE bytes of deterministic dense data: every byte 0x00..0xFE, so no
      half-word is 0xFFFF and every one must be programmed. With VECTORS.bin,
      its first 64 bytes (the 16 Cortex-M core vectors) come first, so that
      dfuboot-stamp accepts the image as an application linked at APP_BASE.
  images.py fill OUT APP.bin SIZE SEED
      APP.bin followed by dense data up to SIZE bytes (a real application
      that boots, made SIZE bytes long for the CRC check of a stamped image).
  images.py change OUT IN PAGE SEED PAGES
      IN with the pages listed in PAGES (comma-separated indexes, or "every4":
      0, 4, 8, ...) replaced by new dense data; the first 64 bytes of page 0
      (the vector table) are kept.
  images.py work OLD NEW PAGE
      The flash work a session that writes NEW over OLD needs at the least:
      the pages whose content differs (the session leaves NEW's bytes and 0xFF
      where NEW ends inside a page) must be erased, and in those pages every
      half-word that is not 0xFFFF programmed. Prints "PAGES HALFWORDS".
      OLD is the flash as it was before the session, from the image's start,
      at least as long as NEW rounded up to whole pages.

Everything is computed from the files, never from what the firmware reports.
"""
import random
import sys

VECTORS = 64  # 16 words: SP, Reset .. SysTick (PM0056 2.3.4)


# 0xFF becomes 0xFE: no byte 0xFF, so no half-word 0xFFFF.
NO_FF = bytes(range(255)) + b"\xfe"


def dense(n, seed):
    return random.Random(seed).randbytes(n).translate(NO_FF)


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def work(old, new, page):
    pages = halfwords = 0
    padded = new + b"\xff" * (-len(new) % page)
    if len(old) < len(padded):
        raise SystemExit(f"images.py: the old flash ({len(old)} bytes) is shorter than the "
                         f"image rounded up to whole pages ({len(padded)} bytes)")
    for off in range(0, len(padded), page):
        want = padded[off:off + page]
        if want == old[off:off + page]:
            continue
        pages += 1
        halfwords += sum(1 for i in range(0, page, 2) if want[i:i + 2] != b"\xff\xff")
    return pages, halfwords


def main(argv):
    if len(argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "dense" and len(args) in (3, 4):
        size, seed = int(args[1]), int(args[2])
        data = dense(size, seed)
        if len(args) == 4:
            vec = read(args[3])[:VECTORS]
            if len(vec) < VECTORS or size < VECTORS:
                raise SystemExit(f"images.py: {args[3]} or SIZE is shorter than a vector table")
            data = vec + data[VECTORS:]
        write(args[0], data)
    elif cmd == "fill" and len(args) == 4:
        app, size, seed = read(args[1]), int(args[2]), int(args[3])
        if len(app) > size:
            raise SystemExit(f"images.py: {args[1]} ({len(app)} bytes) is longer than {size}")
        write(args[0], app + dense(size - len(app), seed))
    elif cmd == "change" and len(args) == 5:
        data, page, seed = bytearray(read(args[1])), int(args[2]), int(args[3])
        npages = (len(data) + page - 1) // page
        if args[4] == "every4":
            which = range(0, npages, 4)
        else:
            which = [int(p) for p in args[4].split(",")]
        for k, p in enumerate(which):
            if not 0 <= p < npages:
                raise SystemExit(f"images.py: page {p} is outside the image ({npages} pages)")
            lo = p * page + (VECTORS if p == 0 else 0)
            hi = min(len(data), (p + 1) * page)
            new = dense(hi - lo, seed * 1000 + k)
            # Dense data differs from the old at almost every byte; make sure.
            if new == bytes(data[lo:hi]):
                raise SystemExit("images.py: the changed page equals the old one")
            data[lo:hi] = new
        write(args[0], bytes(data))
    elif cmd == "work" and len(args) == 3:
        print(*work(read(args[0]), read(args[1]), int(args[2])))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

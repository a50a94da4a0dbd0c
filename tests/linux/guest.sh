#!/usr/bin/env bash
# guest.sh - builds the Linux guest of tests/linux from Debian packages:
#   build/linux/kernel/<pkg>/      the kernel package named by
#                                  `apt-cache depends linux-image-amd64`
#                                  (downloaded once, cached; the -cloud-amd64
#                                  flavour has no USB, so not that one)
#   build/linux/vmlinuz            its kernel
#   build/linux/base.cpio.gz       busybox, usbip, dfu-util, lsusb, the real
#                                  libusb-1.0 with their libraries, the
#                                  virtio-net and USB/IP modules, the guest
#                                  scripts, python3 + pyusb (when
#                                  LINUX_PYTHON=1, the default); rebuilt only
#                                  when its inputs change (base.stamp)
#   build/linux/initramfs.cpio.gz  the base followed by a second archive
#                                  with every file of DATA_DIR (test images)
#                                  under /data (Linux unpacks concatenated
#                                  archives in turn)
# Usage: tests/linux/guest.sh DATA_DIR
# Nothing binary is committed: everything comes from the host's packages.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/linux
DATA=${1:?usage: guest.sh DATA_DIR}
# ldd and the copied programs must see the system libusb, not build/host's.
unset LD_LIBRARY_PATH
mkdir -p "$OUT/dl" "$OUT/kernel"

# ---- the kernel ----------------------------------------------------------------
kpkg() { apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }'; }
pkg=$(kpkg)
if [ -z "$pkg" ]; then
    # The package lists of a fresh machine may be empty.
    apt-get update -qq >/dev/null 2>&1 || true
    pkg=$(kpkg)
fi
[ -n "$pkg" ] || { echo "guest.sh: apt-cache depends linux-image-amd64 names no kernel package" >&2; exit 1; }
kdir=$OUT/kernel/$pkg
if [ ! -d "$kdir/boot" ]; then
    echo "guest.sh: downloading $pkg (about 70 MB, once; cached in $kdir)"
    rm -rf "$OUT/dl"/*.deb "$kdir.tmp"
    # (apt warns that it downloads as root, not as _apt: harmless here.)
    (cd "$OUT/dl" && apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed as root' >&2 || true)
    if ! ls "$OUT"/dl/"$pkg"_*.deb >/dev/null 2>&1; then
        # Stale package lists name a kernel the archive no longer has.
        echo "guest.sh: $pkg could not be downloaded: updating the package lists"
        apt-get update -qq >/dev/null 2>&1 || true
        pkg=$(kpkg)
        kdir=$OUT/kernel/$pkg
        rm -rf "$kdir" "$kdir.tmp"
        (cd "$OUT/dl" && apt-get download -q "$pkg" 2>&1 | grep -v 'unsandboxed as root' >&2 || true)
    fi
    dpkg-deb -x "$OUT"/dl/"$pkg"_*.deb "$kdir.tmp"
    # The package has no modules.dep (the postinst makes it): depmod does.
    kv=$(ls "$kdir.tmp/lib/modules")
    depmod -b "$kdir.tmp" "$kv"
    rm -f "$OUT"/dl/"$pkg"_*.deb
    mv "$kdir.tmp" "$kdir"
fi
kver=$(ls "$kdir/lib/modules" | head -1)
cp "$kdir/boot/vmlinuz-$kver" "$OUT/vmlinuz"
echo "$pkg $kver" >"$OUT/kernel.txt"

# ---- the base root file system (cached) -----------------------------------------
# Its inputs: this script, the guest's scripts, the kernel, and the versions
# of the packages whose files it copies.
stamp=$( (cat "$0" "$ROOT/tests/linux/init" "$ROOT/tests/linux/guest-bin/"*
    echo "$pkg ${LINUX_PYTHON:-1}"
    dpkg-query -W busybox-static usbip dfu-util usbutils libusb-1.0-0 libc6 libudev1 \
        python3.11-minimal libpython3.11-stdlib python3-usb 2>/dev/null) | sha256sum | cut -c1-16)
if [ -s "$OUT/base.cpio.gz" ] && [ "$(cat "$OUT/base.stamp" 2>/dev/null)" = "$stamp" ]; then
    build_base=0
else
    build_base=1
fi
R=$OUT/root
[ $build_base = 1 ] || R=$OUT/root.unused
if [ $build_base = 1 ]; then
rm -rf "$R"
mkdir -p "$R"/{bin,sbin,dev,proc,sys,tmp,etc,lib/modules,usr/share/misc,data,root}
cp /bin/busybox "$R/bin/busybox" # /init makes the applet links

# copy_with_libs FILE...: each file and the libraries ldd names, at their paths.
copy_with_libs() {
    local f l
    for f in "$@"; do
        mkdir -p "$R$(dirname "$f")"
        cp -L "$f" "$R$f"
        for l in $(ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/lib/ { print $1 }'); do
            [ -e "$R$l" ] && continue
            mkdir -p "$R$(dirname "$l")"
            cp -L "$l" "$R$l"
        done
    done
}
copy_with_libs /usr/sbin/usbip /usr/bin/dfu-util /usr/bin/lsusb
# The real libusb (dfu-util and lsusb already pulled it in; test programs
# built against it use the same file).
copy_with_libs "$(ldd /usr/bin/dfu-util | awk '/libusb-1.0/ { print $3 }')"
[ -e "$R/lib64/ld-linux-x86-64.so.2" ] || { mkdir -p "$R/lib64"; cp -L /lib64/ld-linux-x86-64.so.2 "$R/lib64/"; }
# usbip looks the names up in /usr/share/misc/usb.ids.
cp -L /usr/share/misc/usb.ids "$R/usr/share/misc/usb.ids"

# Modules in load order, from modules.dep (plain .ko in Debian's 6.1 kernels;
# a compressed one is unpacked here so busybox insmod can load it).
MODS="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net usb-common usbcore usbip-core vhci-hcd"
mdir=$kdir/lib/modules/$kver
: >"$R/etc/modules"
for m in $MODS; do
    rel=$(awk -F: -v m="$m" '{ n = $1; sub(/.*\//, "", n); sub(/\.ko.*/, "", n); gsub("-", "_", n); mm = m; gsub("-", "_", mm); if (n == mm) { print $1; exit } }' "$mdir/modules.dep")
    if [ -z "$rel" ]; then
        # Built into this kernel (modules.builtin): nothing to load.
        grep -qE "/${m//-/[-_]}\.ko" "$mdir/modules.builtin" && continue
        echo "guest.sh: module $m is neither in modules.dep nor built in ($pkg)" >&2
        exit 1
    fi
    base=$(basename "$rel")
    case $base in
    *.ko.xz) xz -dc "$mdir/$rel" >"$R/lib/modules/${base%.xz}"; base=${base%.xz} ;;
    *.ko.zst) zstd -qdc "$mdir/$rel" >"$R/lib/modules/${base%.zst}"; base=${base%.zst} ;;
    *) cp "$mdir/$rel" "$R/lib/modules/$base" ;;
    esac
    echo "$base" >>"$R/etc/modules"
done

# Python 3 and pyusb, only the modules a pyusb script imports: asked of the
# host's Debian python3 (the one python3-usb is for), not guessed.
if [ "${LINUX_PYTHON:-1}" = 1 ] && [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import usb.core' 2>/dev/null; then
    copy_with_libs "$(readlink -f /usr/bin/python3)"
    ln -sf "$(basename "$(readlink -f /usr/bin/python3)")" "$R/usr/bin/python3"
    PYTAG=$(/usr/bin/python3 -c 'import sys; print(sys.implementation.cache_tag)')
    /usr/bin/python3 -S - <<'EOF' >"$OUT/python-files.txt"
import sys, os
sys.path.append('/usr/lib/python3/dist-packages')
import encodings, encodings.utf_8, encodings.ascii, encodings.latin_1, encodings.aliases
import encodings.utf_16_le, encodings.utf_16
import usb.core, usb.util, usb.backend.libusb1, usb.control, usb._lookup, usb._debug, usb._interop
import ctypes, ctypes.util, logging, argparse, struct, array, binascii, zlib
import time, errno, signal
for m in list(sys.modules.values()):
    f = getattr(m, '__file__', None)
    if f and os.path.isfile(f):
        print(os.path.realpath(f))
EOF
    # With each module its compiled form from __pycache__, if the package
    # has it, and the source's mtime (the .pyc records it): python then
    # skips compiling at every start (seconds under emulation).
    while read -r f; do
        mkdir -p "$R$(dirname "$f")"
        cp -p "$f" "$R$f"
        case $f in
        *.so) copy_with_libs "$f" ;;
        *.py)
            pyc=$(dirname "$f")/__pycache__/$(basename "$f" .py).$PYTAG.pyc
            if [ -e "$pyc" ]; then
                mkdir -p "$R$(dirname "$pyc")"
                cp -p "$pyc" "$R$pyc"
            fi
            ;;
        esac
    done <"$OUT/python-files.txt"
    # ctypes.util.find_library (pyusb's way to find libusb-1.0) asks
    # `ldconfig -p`: the guest's /init builds the cache with this ldconfig.
    cp -L /sbin/ldconfig "$R/sbin/ldconfig"
    cp -L /etc/ld.so.conf "$R/etc/"
    cp -rL /etc/ld.so.conf.d "$R/etc/"
    # os.py marks the standard library's home for sys.prefix.
    py=$(dirname "$(/usr/bin/python3 -S -c 'import os; print(os.__file__)')")
    cp "$py/os.py" "$R$py/os.py"
    mkdir -p "$R$py/lib-dynload"
fi

cp "$ROOT/tests/linux/init" "$R/init"
cp "$ROOT/tests/linux/guest-bin/"* "$R/bin/"
chmod +x "$R/init" "$R/bin/"*

(cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$OUT/base.cpio.gz.tmp"
mv "$OUT/base.cpio.gz.tmp" "$OUT/base.cpio.gz"
echo "$stamp" >"$OUT/base.stamp"
fi

# ---- the test data (every run) -------------------------------------------------------
D=$OUT/data-root
rm -rf "$D"
mkdir -p "$D/data"
cp -r "$DATA"/. "$D/data/"
(cd "$D" && find data | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$OUT/data.cpio.gz"
cat "$OUT/base.cpio.gz" "$OUT/data.cpio.gz" >"$OUT/initramfs.cpio.gz.tmp"
mv "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
echo "guest.sh: $pkg ($kver), initramfs $(($(stat -c %s "$OUT/initramfs.cpio.gz") / 1024)) KiB$([ $build_base = 1 ] && echo ", base rebuilt" || echo ", base cached")"

#!/usr/bin/env bash
# Installs the Debian packages a make target needs, and says which.
# Usage: mk/deps.sh GROUP...   (groups: build host vboard e2e fuzz linux)
set -eu
declare -A group=(
  [build]="make gcc gcc-arm-none-eabi libnewlib-arm-none-eabi binutils-arm-none-eabi"
  [host]="gcc make"
  [vboard]="libunicorn-dev pkg-config"
  [e2e]="dfu-util usbutils usbip libusb-1.0-0-dev python3-usb"
  [fuzz]="clang libclang-rt-14-dev"
  # tests/linux: a Debian kernel in QEMU attaches vboard over USB/IP; the
  # guest runs these packages' own binaries (the kernel package itself is
  # downloaded into build/ by tests/linux/guest.sh, not installed).
  [linux]="qemu-system-x86 busybox-static cpio socat kmod python3 python3-usb dfu-util usbutils usbip libusb-1.0-0"
)
want=()
for g in "$@"; do
  for p in ${group[$g]:?unknown dependency group $g}; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in *"install ok installed"*) ;; *) want+=("$p") ;; esac
  done
done
[ ${#want[@]} -eq 0 ] && exit 0
echo "deps: installing missing Debian packages: ${want[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
echo "deps: installed ${want[*]}"

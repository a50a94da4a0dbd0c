#!/usr/bin/env bash
# fwd.sh PORTFILE - run by QEMU's guestfwd for each connection the guest
# opens to a board address: joins it to the vboard whose USB/IP port is in
# PORTFILE, on 127.0.0.1 only. An empty PORTFILE (no board) closes it.
port=$(cat "$1" 2>/dev/null)
[ -n "$port" ] || exit 0
exec socat STDIO "TCP:127.0.0.1:$port"

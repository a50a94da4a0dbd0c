#!/usr/bin/env bash
# bench/bench.sh - dfuboot size and speed figures (`make bench`).
#
# 1. Size of every firmware configuration built under build/fw/ (arm-none-eabi-size -A).
# 2. Update speed: stock dfu-util against vboard --realtime, dense pseudo-random
#    images (bytes 0x00..0xFE, so no half-word is 0xFFFF and none is skipped),
#    BENCH_REPS runs each (default 3), median wall time, next to the flash limit
#    from the datasheet typical timings. Upload speed. Power-on to USB enumerated
#    and to the application's first instruction (vboard virtual time).
# 3. bwPollTimeout the device reports for erase and write (LIBUSB_USBIP_DEBUG=1
#    trace of one download), next to the datasheet typical times.
#
# Tables go to stdout and to build/bench/results.md; progress goes to stderr.
# Exit status 1 when any figure could not be measured (a failing step is an
# error, never a number). Every written image is read back and compared.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=build/bench
VBOARD=build/host/vboard
STAMP=build/host/dfuboot-stamp
DFU_UTIL=${DFU_UTIL:-/usr/bin/dfu-util}
REPS=${BENCH_REPS:-3}
export LD_LIBRARY_PATH=$ROOT/build/host

# Datasheet typical timings (DS5319/DS5792): page erase 20 ms, half-word 52.5 us.
T_ERASE_MS=20
T_PROG_US=52.5
BUDGET=4096
PEER=3686
RAM_BUDGET=2048

FW_C8=build/fw/bluepill/dfuboot.bin
FW_RC=build/fw/generic_f103rc/dfuboot.bin
BLINKY_C8=build/app/bluepill/blinky.bin
BLINKY_RC=build/app/generic_f103rc/blinky.bin

mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/dfuboot-bench.XXXXXX")
VBPID=""
WARNINGS=()
cleanup() {
    [ -n "$VBPID" ] && kill -KILL "$VBPID" 2>/dev/null && wait "$VBPID" 2>/dev/null
    [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ERRORS=()
err() {
    echo "bench: ERROR: $*" >&2
    ERRORS+=("$*")
}
note() { echo "bench: $*" >&2; }
# calc EXPR: floating-point arithmetic with awk.
calc() { awk "BEGIN { printf \"%s\", $1 }"; }
fmt() { awk -v v="$2" "BEGIN { printf \"$1\", v }"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
minv() { printf '%s\n' "$@" | sort -g | head -1; }
maxv() { printf '%s\n' "$@" | sort -g | tail -1; }

for f in "$VBOARD" "$STAMP" build/host/libusb-1.0.so.0 "$DFU_UTIL" "$FW_C8" "$FW_RC" "$BLINKY_C8" "$BLINKY_RC"; do
    [ -e "$f" ] || { echo "bench: ERROR: $f is missing (run make)" >&2; exit 1; }
done
command -v arm-none-eabi-size >/dev/null || { echo "bench: ERROR: arm-none-eabi-size not installed" >&2; exit 1; }

# ---- helpers -------------------------------------------------------------------

# gen_img OUT SIZE SEED: deterministic dense bytes 0x00..0xFE.
gen_img() {
    LC_ALL=C awk -v n="$2" -v s="$3" 'BEGIN { srand(s); for (i = 0; i < n; i++) printf "%c", int(rand() * 255) }' >"$1"
    [ "$(stat -c %s "$1")" -eq "$2" ]
}

# A TCP port on 127.0.0.1 that nobody listens on, below the ephemeral range
# (the local ends of our own USB/IP connections live there).
EPH_LO=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "${EPH_LO:-0}" -gt 21024 ] 2>/dev/null || EPH_LO=32768
free_port() {
    local p
    for _ in $(seq 200); do
        p=$((20000 + RANDOM % (EPH_LO - 20000)))
        (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null || { echo $p; return 0; }
    done
    return 1
}

# vb_start LOG vboard-args...: starts vboard on a free port (VBPORT, VBPID) and
# waits until the host model has enumerated the device.
vb_start() {
    local log=$1 try i
    shift
    for try in 1 2 3; do
        VBPORT=$(free_port) || return 1
        : >"$log"
        "$S/$VBOARD" --port "$VBPORT" "$@" >"$log" 2>&1 &
        VBPID=$!
        for ((i = 0; i < 300; i++)); do
            grep -q 'usb enumerated' "$log" && return 0
            grep -q 'cannot listen' "$log" && break
            kill -0 "$VBPID" 2>/dev/null || break
            sleep 0.05
        done
        vb_stop "failed start"
        grep -q 'cannot listen' "$log" || return 1
    done
    return 1
}
vb_stop() {
    local rc
    [ -n "$VBPID" ] || return 0
    kill -TERM "$VBPID" 2>/dev/null
    wait "$VBPID" 2>/dev/null
    rc=$?
    VBPID=""
    [ $rc -eq 0 ] && return 0
    if [ "$1" = "failed start" ]; then
        WARNINGS+=("vboard exited with status $rc after failing to start (port busy?); started again on another port")
    else
        WARNINGS+=("vboard exited with status $rc on SIGTERM ($1); its figures were measured before that")
    fi
}
# vb_time LOG REGEX: virtual time (s) of the first log line matching REGEX.
vb_time() { grep -m1 -E "$2" "$1" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p'; }

# dfu LOG args...: stock dfu-util against the running vboard; DT = wall seconds.
dfu() {
    local log=$1 t0 t1 rc
    shift
    t0=$EPOCHREALTIME
    LIBUSB_USBIP_SERVERS=127.0.0.1:$VBPORT timeout 60 "$DFU_UTIL" "$@" >"$log" 2>&1
    rc=$?
    t1=$EPOCHREALTIME
    DT=$(calc "$t1 - $t0")
    return $rc
}
show_tail() { tr '\r' '\n' <"$1" | grep -v '^ *$' | tail -"${2:-6}" | sed 's/^/    | /' >&2; }

# flash_slice FLASHFILE OFFSET COUNT: bytes of a vboard --flash file.
flash_slice() { tail -c +$(($2 + 1)) "$1" | head -c "$3"; }

# limit_s SIZE PAGE: datasheet-typical seconds to erase and program SIZE bytes.
limit_s() { calc "int(($1 + $2 - 1) / $2) * $T_ERASE_MS / 1000 + ($1 / 2) * $T_PROG_US / 1e6"; }

# The binaries the speed figures are about. They are measured from a copy
# (other builds may run meanwhile); a change in build/ mid-run means a rerun.
SNAP_FILES=("$VBOARD" build/host/libusb-1.0.so.0 "$STAMP" "$FW_C8" "$FW_RC" "$BLINKY_C8" "$BLINKY_RC")
fingerprint() { sha256sum "${SNAP_FILES[@]}" 2>/dev/null | sha256sum | cut -c1-16; }
snapshot() {
    local f
    rm -rf "$WORK/snap"
    for f in "${SNAP_FILES[@]}"; do
        mkdir -p "$WORK/snap/$(dirname "$f")"
        cp -p "$f" "$WORK/snap/$f" || return 1
    done
    S=$WORK/snap
    export LD_LIBRARY_PATH=$S/build/host
}

# ---- 1. size -------------------------------------------------------------------
size_section() {
    local elf cfg text data bss stack flash ram stale n=0
    echo "## 1. Size (arm-none-eabi-size -A)"
    echo
    echo "Flash = .text + .data (vectors, code, rodata, data initialisers); RAM = .data + .bss + .stack"
    echo "(the linker script reserves the stack as .stack). Budget $BUDGET B flash / $RAM_BUDGET B RAM; best DfuSe peer $PEER B (3.6 KiB)."
    echo
    printf '| %-42s | %5s | %4s | %11s | %14s | %13s | %4s | %5s | %14s |\n' \
        configuration text data "flash bytes" "vs 4096 budget" "vs 3686 peer" bss stack "RAM (of 2048)"
    printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------------------------------------- ------: -----: ------------: ---------------: --------------: -----: ------: ---------------:
    for elf in $(ls build/fw/*/dfuboot.elf 2>/dev/null | sort); do
        cfg=${elf#build/fw/}
        cfg=${cfg%/dfuboot.elf}
        read -r text data bss stack < <(arm-none-eabi-size -A "$elf" | awk '
            $1 == ".text" { t = $2 } $1 == ".data" { d = $2 } $1 == ".bss" { b = $2 } $1 == ".stack" { s = $2 }
            END { print t + 0, d + 0, b + 0, s + 0 }')
        if [ -z "$text" ] || [ "$text" -eq 0 ]; then
            err "size of $elf: no .text section"
            continue
        fi
        flash=$((text + data))
        ram=$((data + bss + stack))
        stale=""
        [ -n "$(find fw common -type f -newer "$elf" 2>/dev/null | head -1)" ] && stale=" (stale)"
        printf '| %-42s | %5d | %4d | %11d | %+14d | %+13d | %4d | %5d | %14d |\n' \
            "$cfg$stale" "$text" "$data" "$flash" $((flash - BUDGET)) $((flash - PEER)) "$bss" "$stack" "$ram"
        n=$((n + 1))
    done
    [ $n -gt 0 ] || err "no firmware ELF under build/fw/"
    echo
    echo "vs columns: bytes over (+) or under (-). (stale) = a file under fw/ or common/ changed after this ELF was built."
    echo "Reproduce: \`arm-none-eabi-size -A build/fw/<configuration>/dfuboot.elf\`"
    echo
}

# ---- 2. speed ------------------------------------------------------------------
declare -A DL_MED DL_MIN DL_MAX UP_MED UP_MIN UP_MAX
CONNECT_T=()
ENUM_T=()
declare -A CONN_BY ENUM_BY

# speed_case KEY PART BOARD FW PAGE SIZE SEED [upload]
speed_case() {
    local key=$1 part=$2 board=$3 fw=$4 page=$5 size=$6 seed=$7 upload=${8:-}
    local img=$OUT/img-$((size / 1024))k.bin flashf=$WORK/flash-$key.bin r times=() utimes=() ok=1
    gen_img "$img" "$size" "$seed" || { err "cannot make $img"; return; }
    for ((r = 1; r <= REPS; r++)); do
        rm -f "$flashf"
        if ! vb_start "$WORK/vb-$key-$r.log" --realtime --quiet-gpio --part "$part" --board "$board" --flash "$flashf" "$S/$fw"; then
            err "$key: vboard did not enumerate (run $r)"
            show_tail "$WORK/vb-$key-$r.log"
            vb_stop "$key run $r"
            ok=0
            break
        fi
        CONN_BY[$part]+=" $(vb_time "$WORK/vb-$key-$r.log" 'usb connect')"
        ENUM_BY[$part]+=" $(vb_time "$WORK/vb-$key-$r.log" 'usb enumerated')"
        if ! dfu "$WORK/dl-$key-$r.out" -a 0 -s 0x08002000 -D "$img" || ! grep -q 'Download done' "$WORK/dl-$key-$r.out"; then
            err "$key: dfu-util download failed (run $r)"
            show_tail "$WORK/dl-$key-$r.out"
            ok=0
            vb_stop "$key run $r"
            break
        fi
        times+=("$DT")
        note "$key download run $r/$REPS: $(fmt %.3f "$DT") s"
        if [ -n "$upload" ]; then
            rm -f "$WORK/up.bin"
            if ! dfu "$WORK/up-$key-$r.out" -a 0 -s "0x08002000:$size" -U "$WORK/up.bin" || ! cmp -s "$WORK/up.bin" "$img"; then
                err "$key: dfu-util upload failed or differs from the image (run $r)"
                show_tail "$WORK/up-$key-$r.out"
                ok=0
                vb_stop "$key run $r"
                break
            fi
            utimes+=("$DT")
            note "$key upload run $r/$REPS: $(fmt %.3f "$DT") s"
        fi
        vb_stop "$key run $r"
        if ! flash_slice "$flashf" 8192 "$size" | cmp -s - "$img"; then
            err "$key: flash after the download differs from the image (run $r)"
            ok=0
            break
        fi
    done
    [ $ok -eq 1 ] || return
    DL_MED[$key]=$(median "${times[@]}")
    DL_MIN[$key]=$(minv "${times[@]}")
    DL_MAX[$key]=$(maxv "${times[@]}")
    if [ -n "$upload" ]; then
        UP_MED[$key]=$(median "${utimes[@]}")
        UP_MIN[$key]=$(minv "${utimes[@]}")
        UP_MAX[$key]=$(maxv "${utimes[@]}")
    fi
}

# app_start KEY PART BOARD FW APPIMAGE: virtual time from power-on to the
# application's first instruction, the app written into a fresh flash file.
declare -A APP_T
app_start() {
    local key=$1 part=$2 board=$3 fw=$4 app=$5 f=$WORK/flash-app-$1.bin log=$WORK/app-$1.log
    rm -f "$f"
    timeout 20 "$S/$VBOARD" --port 0 --fast --quiet-gpio --part "$part" --board "$board" --flash "$f" --exit-after 0.001 "$S/$fw" >/dev/null 2>&1
    if [ ! -s "$f" ] || ! dd if="$app" of="$f" bs=1024 seek=8 conv=notrunc status=none; then
        err "app start $key: cannot prepare the flash file"
        return
    fi
    timeout 20 "$S/$VBOARD" --port 0 --fast --quiet-gpio --part "$part" --board "$board" --flash "$f" --exit-after 1 >"$log" 2>&1
    APP_T[$key]=$(vb_time "$log" 'app start')
    if [ -z "${APP_T[$key]}" ]; then
        err "app start $key: no 'app start' within 1 s of virtual time"
        show_tail "$log"
    fi
}

# ---- 3. bwPollTimeout ----------------------------------------------------------
# poll_trace KEY PART BOARD FW IMG: one download with the USB/IP trace, each
# line time-stamped; parsed into POLL_<key> (key=value lines).
declare -A PT
poll_trace() {
    local key=$1 part=$2 board=$3 fw=$4 img=$5 t0 trace=$WORK/trace-$1.log
    rm -f "$WORK/flash-trace.bin"
    if ! vb_start "$WORK/vb-trace-$key.log" --realtime --quiet-gpio --part "$part" --board "$board" --flash "$WORK/flash-trace.bin" "$S/$fw"; then
        err "poll trace $key: vboard did not enumerate"
        return
    fi
    t0=$EPOCHREALTIME
    {
        LIBUSB_USBIP_DEBUG=1 LIBUSB_USBIP_SERVERS=127.0.0.1:$VBPORT timeout 60 "$DFU_UTIL" -a 0 -s 0x08002000 -D "$img" 2>&1 >"$WORK/trace-$key.out"
        echo "EXIT $?"
    } | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$trace"
    vb_stop "trace $key"
    awk -v t0="$t0" '
        function h(s,   i, v) { s = tolower(s); v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
        $3 == "CMD_SUBMIT" {
            t_cmd = $1
            si = 0; di = 0
            for (i = 4; i <= NF; i++) { if ($i == "setup" && !si) si = i; if ($i == "data" && !di) di = i }
            if (!si) next
            bm = $(si + 1); br = $(si + 2); wv = h($(si + 3)) + 256 * h($(si + 4)); wl = h($(si + 7)) + 256 * h($(si + 8))
            d0 = di ? $(di + 1) : ""
            expect = 0
            if (bm == "21" && br == "01") {
                if (wv == 0) kind = (d0 == "41") ? (wl == 5 ? "erase" : "mass_erase") : (d0 == "21" ? "setaddr" : "cmd" d0)
                else kind = (wl == 0) ? "zlp" : "write" wl
                cur = kind; first = 1; ncmd[kind]++
                if (kind == "erase" && !t_first) t_first = $1
            } else if (bm == "a1" && br == "03") expect = 1
            else if (bm == "21" && br == "06") { if (t_first && !t_abort) t_abort = $1; cur = "" }
            next
        }
        $3 == "RET_SUBMIT" && t_first && !t_abort { nx++; xfer += $1 - t_cmd }
        $3 == "RET_SUBMIT" && expect {
            expect = 0; di = 0
            for (i = 4; i <= NF; i++) if ($i == "data") { di = i; break }
            if (!di) { bad++; next }
            st = h($(di + 1)); poll = h($(di + 2)) + 256 * h($(di + 3)) + 65536 * h($(di + 4)); state = h($(di + 5))
            if (st != 0) bad++
            ngs++; total += poll
            if (cur != "") {
                gs[cur]++; sum[cur] += poll
                if (first) {
                    first = 0
                    if (!((cur, poll) in seen)) { seen[cur, poll] = 1; vals[cur] = vals[cur] (vals[cur] == "" ? "" : "/") poll }
                    if (state != 4) notbusy[cur]++
                }
            }
            next
        }
        $2 == "EXIT" { t_exit = $1; rc = $3 }
        END {
            for (k in ncmd) {
                printf "n_%s=%d\nvals_%s=%s\ngs_%s=%d\nsum_%s=%d\nnotbusy_%s=%d\n", k, ncmd[k], k, vals[k], k, gs[k], k, sum[k], k, notbusy[k] + 0
                kinds = kinds " " k
            }
            printf "kinds=%s\ntotal=%d\nngs=%d\nbad=%d\nrc=%s\n", kinds, total, ngs, bad + 0, rc
            if (t_first && t_abort && t_exit)
                printf "setup=%.3f\ntransfer=%.3f\ntail=%.3f\nwall=%.3f\nnx=%d\nxfer=%.3f\n", t_first - t0, t_abort - t_first, t_exit - t_abort, t_exit - t0, nx, xfer
        }' "$trace" >"$WORK/poll-$key.kv"
    local k v
    while IFS='=' read -r k v; do PT[$key.$k]=$v; done <"$WORK/poll-$key.kv"
    if [ "${PT[$key.rc]:-x}" != 0 ] || [ -z "${PT[$key.vals_erase]:-}" ] || [ -z "${PT[$key.vals_write1024]:-}" ] ||
        [ "${PT[$key.bad]:-1}" != 0 ] || [ -z "${PT[$key.transfer]:-}" ]; then
        err "poll trace $key: download failed or the trace has no erase/1024-byte write status (rc ${PT[$key.rc]:-?})"
        grep -v 'SUBMIT' "$trace" | tail -5 | sed 's/^/    | /' >&2
        PT[$key.ok]=0
    else
        PT[$key.ok]=1
    fi
}

# ---- run -------------------------------------------------------------------------
measure() {
    DL_MED=(); DL_MIN=(); DL_MAX=(); UP_MED=(); UP_MIN=(); UP_MAX=(); CONN_BY=(); ENUM_BY=(); APP_T=(); PT=()
    note "speed: f103c8 + $FW_C8, --realtime, $REPS runs each"
    speed_case c8_8 f103c8 bluepill "$FW_C8" 1024 8192 8
    speed_case c8_32 f103c8 bluepill "$FW_C8" 1024 32768 32
    speed_case c8_56 f103c8 bluepill "$FW_C8" 1024 57344 56 upload
    note "speed: f103rc + $FW_RC, --realtime, $REPS runs"
    speed_case rc_128 f103rc generic_f103rc "$FW_RC" 2048 131072 128
    note "bwPollTimeout traces"
    poll_trace c8 f103c8 bluepill "$FW_C8" "$OUT/img-56k.bin"
    poll_trace rc f103rc generic_f103rc "$FW_RC" "$OUT/img-8k.bin"
    note "app start"
    # Applications: blinky as built, blinky stamped, blinky + dense filler stamped.
    cp "$S/$BLINKY_C8" "$OUT/app-blinky-unstamped.bin" &&
        "$S/$STAMP" --base 0x08002000 -o "$OUT/app-blinky-stamped.bin" "$S/$BLINKY_C8" >/dev/null &&
        cp "$S/$BLINKY_C8" "$OUT/app-56k-stamped.bin" &&
        gen_img "$WORK/fill" $((57344 - $(stat -c %s "$S/$BLINKY_C8"))) 560 &&
        cat "$WORK/fill" >>"$OUT/app-56k-stamped.bin" &&
        "$S/$STAMP" --base 0x08002000 "$OUT/app-56k-stamped.bin" >/dev/null &&
        cp "$S/$BLINKY_RC" "$OUT/app-rc-128k-stamped.bin" &&
        gen_img "$WORK/fill" $((131072 - $(stat -c %s "$S/$BLINKY_RC"))) 1280 &&
        cat "$WORK/fill" >>"$OUT/app-rc-128k-stamped.bin" &&
        "$S/$STAMP" --base 0x08002000 "$OUT/app-rc-128k-stamped.bin" >/dev/null ||
        { err "cannot make the application images"; return; }
    app_start c8_unstamped f103c8 bluepill "$FW_C8" "$OUT/app-blinky-unstamped.bin"
    app_start c8_stamped f103c8 bluepill "$FW_C8" "$OUT/app-blinky-stamped.bin"
    app_start c8_56k f103c8 bluepill "$FW_C8" "$OUT/app-56k-stamped.bin"
    app_start rc_128k f103rc generic_f103rc "$FW_RC" "$OUT/app-rc-128k-stamped.bin"
}

# Measured from a snapshot, so a concurrent build never mixes versions into
# one run (a second full run would not fit in the ~3 minute budget); the
# report names the dfuboot.bin measured and warns when build/ moved on.
T_START=$EPOCHREALTIME
FP0=$(fingerprint)
snapshot || { echo "bench: ERROR: cannot copy the binaries" >&2; exit 1; }
[ "$(fingerprint)" = "$FP0" ] || { FP0=$(fingerprint); snapshot || exit 1; }
MEASURED_C8=$(sha256sum "$S/$FW_C8" | cut -c1-12)
MEASURED_RC=$(sha256sum "$S/$FW_RC" | cut -c1-12)
measure
[ "$(fingerprint)" = "$FP0" ] ||
    WARNINGS+=("binaries under build/ changed during the run (concurrent build): the speed figures are for the copies taken at its start (sha256 above; now bluepill $(sha256sum "$FW_C8" | cut -c1-12), generic_f103rc $(sha256sum "$FW_RC" | cut -c1-12)); run make bench again for the new ones")

# ---- report ----------------------------------------------------------------------
speed_row() { # KEY LABEL PAGE SIZE
    local key=$1 label=$2 page=$3 size=$4 lim pages
    pages=$(((size + page - 1) / page))
    lim=$(limit_s "$size" "$page")
    if [ -n "${DL_MED[$key]:-}" ]; then
        printf '| %-24s | %8s | %-13s | %2d x %2d ms + %5d x 52.5 us = %5.3f s | %5.2f | %5.1f |\n' "$label" \
            "$(fmt %.3f "${DL_MED[$key]}")" "$(fmt %.3f "${DL_MIN[$key]}")..$(fmt %.3f "${DL_MAX[$key]}")" \
            "$pages" "$T_ERASE_MS" $((size / 2)) "$lim" \
            "$(calc "${DL_MED[$key]} / $lim")" "$(calc "$size / 1024 / ${DL_MED[$key]}")"
    else
        printf '| %-24s | %8s | %-13s | %2d x %2d ms + %5d x 52.5 us = %5.3f s | %5s | %5s |\n' "$label" ERROR - \
            "$pages" "$T_ERASE_MS" $((size / 2)) "$lim" - -
    fi
}

report() {
    local git dirty vbc='build/host/vboard --port $PORT --realtime --quiet-gpio'
    git=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
    dirty=$([ -n "$(git status --porcelain -- fw common vboard libusb 2>/dev/null)" ] && echo ' (fw/common/vboard/libusb have uncommitted changes)')
    echo "# dfuboot bench"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $git$dirty; $($DFU_UTIL -V 2>/dev/null | head -1);"
    echo "Speed figures measured with dfuboot.bin sha256 bluepill $MEASURED_C8, generic_f103rc $MEASURED_RC. Produced by \`make bench\` (bench/bench.sh)."
    echo
    size_section

    echo "## 2. Update speed (vboard --realtime, stock dfu-util, wall time, median of $REPS)"
    echo
    echo "Dense pseudo-random images (bytes 0x00-0xFE: every half-word is programmed), no :leave."
    echo "Limit = datasheet typical: pages x 20 ms erase + half-words x 52.5 us programming. ratio = measured / limit (1.00 = as fast as the flash allows)."
    echo "Every download was read back from the flash file (and the 56 KiB one also by dfu-util -U) and compared."
    echo
    printf '| %-24s | %8s | %-13s | %-39s | %5s | %5s |\n' "image (part, page)" "median s" "min..max s" "flash limit (datasheet typical)" ratio "KiB/s"
    printf '|%s|%s|%s|%s|%s|%s|\n' -------------------------- ---------: --------------- ----------------------------------------- ------: ------:
    speed_row c8_8 "8 KiB, f103c8 1 KiB" 1024 8192
    speed_row c8_32 "32 KiB, f103c8 1 KiB" 1024 32768
    speed_row c8_56 "56 KiB, f103c8 1 KiB" 1024 57344
    speed_row rc_128 "128 KiB, f103rc 2 KiB" 2048 131072
    echo
    if [ -n "${DL_MED[c8_8]:-}" ] && [ -n "${DL_MED[c8_56]:-}" ]; then
        local l8 l56
        l8=$(limit_s 8192 1024); l56=$(limit_s 57344 1024)
        echo "Marginal cost on f103c8 (56 KiB median - 8 KiB median) / (limit difference):" \
            "$(fmt %.3f "$(calc "${DL_MED[c8_56]} - ${DL_MED[c8_8]}")") s / $(fmt %.3f "$(calc "$l56 - $l8")") s =" \
            "**$(fmt %.2f "$(calc "(${DL_MED[c8_56]} - ${DL_MED[c8_8]}) / ($l56 - $l8)")")** x the flash limit per extra 48 KiB;" \
            "the rest of each run is a fixed per-invocation cost (see the phases in 3)."
        echo
    fi
    if [ -n "${UP_MED[c8_56]:-}" ]; then
        echo "Upload (-U) 56 KiB, f103c8: median **$(fmt %.3f "${UP_MED[c8_56]}") s** ($(fmt %.3f "${UP_MIN[c8_56]}")..$(fmt %.3f "${UP_MAX[c8_56]}") s), $(fmt %.1f "$(calc "56 / ${UP_MED[c8_56]}")") KiB/s."
    else
        echo "Upload (-U) 56 KiB, f103c8: ERROR (not measured)"
    fi
    echo
    echo "Boot (vboard virtual time from power-on; the host model enumerates like Linux):"
    echo
    printf '| %-60s | %-10s | %-10s |\n' "event" "f103c8" "f103rc"
    printf '|%s|%s|%s|\n' -------------------------------------------------------------- ------------ ------------
    local cc cr ec er
    # shellcheck disable=SC2086
    cc=$([ -n "${CONN_BY[f103c8]:-}" ] && fmt %.1f "$(calc "$(median ${CONN_BY[f103c8]}) * 1000")")
    # shellcheck disable=SC2086
    cr=$([ -n "${CONN_BY[f103rc]:-}" ] && fmt %.1f "$(calc "$(median ${CONN_BY[f103rc]}) * 1000")")
    # shellcheck disable=SC2086
    ec=$([ -n "${ENUM_BY[f103c8]:-}" ] && fmt %.1f "$(calc "$(median ${ENUM_BY[f103c8]}) * 1000")")
    # shellcheck disable=SC2086
    er=$([ -n "${ENUM_BY[f103rc]:-}" ] && fmt %.1f "$(calc "$(median ${ENUM_BY[f103rc]}) * 1000")")
    [ -n "$cc" ] && [ -n "$ec" ] && [ -n "$cr" ] && [ -n "$er" ] || err "power-on to usb enumerated: not measured"
    printf '| %-60s | %-10s | %-10s |\n' "DFU mode (empty app region): host sees attach (usb connect)" "${cc:-ERROR} ms" "${cr:-ERROR} ms"
    printf '| %-60s | %-10s | %-10s |\n' "DFU mode: usb enumerated (Linux-like host model)" "${ec:-ERROR} ms" "${er:-ERROR} ms"
    approw() { local v=${APP_T[$1]:-}; [ -n "$v" ] && fmt '%.3f ms' "$(calc "$v * 1000")" || echo ERROR; }
    printf '| %-60s | %-10s | %-10s |\n' "app start: blinky $(stat -c %s "$OUT/app-blinky-unstamped.bin" 2>/dev/null) B, unstamped" "$(approw c8_unstamped)" "-"
    printf '| %-60s | %-10s | %-10s |\n' "app start: blinky, stamped (CRC checked)" "$(approw c8_stamped)" "-"
    printf '| %-60s | %-10s | %-10s |\n' "app start: 56 KiB / 128 KiB stamped image (CRC checked)" "$(approw c8_56k)" "$(approw rc_128k)"
    echo
    echo "usb connect includes the host's 100 ms attach debounce (USB 2.0 TATTDB); usb enumerated adds Linux's resets and waits."
    echo "app start = power-on reset to the application's first instruction (vboard \"app start\"): the bootloader's whole boot delay,"
    echo "CRC-32 of a stamped image included. Reproduce with the app-start commands below (--fast gives the same virtual times)."
    echo

    echo "## 3. bwPollTimeout honesty (LIBUSB_USBIP_DEBUG=1 trace of one download)"
    echo
    printf '| %-30s | %-20s | %-24s | %-27s | %-14s |\n' "download" "erase: reported" "1024-B write: reported" "datasheet typical" "GETSTATUS/cmd"
    printf '|%s|%s|%s|%s|%s|\n' -------------------------------- ---------------------- -------------------------- ----------------------------- ----------------
    local key label
    for key in c8 rc; do
        [ $key = c8 ] && label="56 KiB, f103c8 1 KiB pages" || label="8 KiB, f103rc 2 KiB pages"
        if [ "${PT[$key.ok]:-0}" = 1 ]; then
            printf '| %-30s | %-20s | %-24s | %-27s | %-14s |\n' "$label" \
                "${PT[$key.vals_erase]} ms (x${PT[$key.n_erase]})" "${PT[$key.vals_write1024]} ms (x${PT[$key.n_write1024]})" \
                "erase 20 ms, write 26.9 ms" \
                "$(calc "${PT[$key.gs_erase]} / ${PT[$key.n_erase]}")/$(calc "${PT[$key.gs_write1024]} / ${PT[$key.n_write1024]}")"
        else
            printf '| %-30s | %-20s | %-24s | %-27s | %-14s |\n' "$label" ERROR ERROR "erase 20 ms, write 26.9 ms" -
        fi
    done
    echo
    echo "Write typical = 1024/2 x 52.5 us = 26.88 ms. GETSTATUS/cmd = erase/write average (2 = one busy answer, then idle: no extra round of polling)."
    echo
    echo "Where the time of a traced download goes (wall clock; the trace itself adds a little):"
    echo
    printf '| %-14s | %8s | %-30s | %-27s | %-22s | %7s | %7s |\n' download "to ERASE" "ERASE..last status (x limit)" "sum bwPollTimeout (x limit)" "control transfers" "other" "to exit"
    printf '|%s|%s|%s|%s|%s|%s|%s|\n' ---------------- ---------: -------------------------------- ----------------------------- ------------------------ --------: --------:
    for key in c8 rc; do
        local img page lim label
        [ $key = c8 ] && { img=57344; page=1024; label="56 KiB f103c8"; } || { img=8192; page=2048; label="8 KiB f103rc"; }
        [ "${PT[$key.ok]:-0}" = 1 ] || { printf '| %-14s | ERROR |\n' "$label"; continue; }
        lim=$(limit_s "$img" "$page")
        printf '| %-14s | %6.3f s | %7.3f s = %4.2f x %5.3f s     | %7.3f s = %5.3f x         | %-22s | %5.3f s | %5.3f s |\n' "$label" \
            "${PT[$key.setup]}" "${PT[$key.transfer]}" "$(calc "${PT[$key.transfer]} / $lim")" "$lim" \
            "$(calc "${PT[$key.total]} / 1000")" "$(calc "${PT[$key.total]} / 1000 / $lim")" \
            "$(printf '%d x %.1f ms' "${PT[$key.nx]}" "$(calc "${PT[$key.xfer]} * 1000 / ${PT[$key.nx]}")")" \
            "$(calc "${PT[$key.transfer]} - ${PT[$key.total]} / 1000 - ${PT[$key.xfer]}")" "${PT[$key.tail]}"
    done
    echo
    echo "to ERASE = dfu-util start-up: listing, USB/IP import (each open re-enumerates the virtual device), status. control = control"
    echo "transfers during ERASE..last status (round trip through USB/IP and the emulated device), count x mean. other = dfu-util between"
    echo "transfers. Set-address commands report ${PT[c8.vals_setaddr]:-?} ms. The firmware's share is the poll timeouts; the control-transfer"
    echo "round trips are the virtual board's transport (USB/IP over TCP, emulated CPU polling USB); on a real full-speed bus a short"
    echo "control transfer needs about 1-2 frames of 1 ms (estimate, not measured here)."
    echo
    echo "## Reproduce"
    echo
    echo '```sh'
    echo "# sizes"
    echo "arm-none-eabi-size -A build/fw/bluepill/dfuboot.elf"
    echo "# images (kept in build/bench/; bytes 0x00..0xFE, deterministic)"
    echo "LC_ALL=C awk -v n=57344 -v s=56 'BEGIN { srand(s); for (i = 0; i < n; i++) printf \"%c\", int(rand() * 255) }' > build/bench/img-56k.bin   # n/s: 8192/8 32768/32 57344/56 131072/128"
    echo "# download speed, f103c8 (one run; PORT = any free port)"
    echo "$vbc --part f103c8 --board bluepill $FW_C8 &"
    echo 'time LD_LIBRARY_PATH=build/host LIBUSB_USBIP_SERVERS=127.0.0.1:$PORT dfu-util -a 0 -s 0x08002000 -D build/bench/img-56k.bin'
    echo "# upload speed (after that download)"
    echo 'time LD_LIBRARY_PATH=build/host LIBUSB_USBIP_SERVERS=127.0.0.1:$PORT dfu-util -a 0 -s 0x08002000:57344 -U /tmp/up.bin'
    echo "# f103rc, 2 KiB pages"
    echo "$vbc --part f103rc --board generic_f103rc $FW_RC &"
    echo 'time LD_LIBRARY_PATH=build/host LIBUSB_USBIP_SERVERS=127.0.0.1:$PORT dfu-util -a 0 -s 0x08002000 -D build/bench/img-128k.bin'
    echo "# poll timeouts: the same download with the USB/IP trace; GETSTATUS answers are 'a1 03' requests,"
    echo "# bwPollTimeout = bytes 2..4 of the 6-byte answer (little-endian ms)"
    echo 'LIBUSB_USBIP_DEBUG=1 LD_LIBRARY_PATH=build/host LIBUSB_USBIP_SERVERS=127.0.0.1:$PORT dfu-util -a 0 -s 0x08002000 -D build/bench/img-56k.bin 2>&1 >/dev/null | grep -A1 "setup a1 03"'
    echo "# boot: power-on to 'usb connect'/'usb enumerated' = the first lines of the vboard log above; app start:"
    echo "rm -f /tmp/f.bin; build/host/vboard --port 0 --fast --part f103c8 --flash /tmp/f.bin --exit-after 0.001 $FW_C8"
    echo "dd if=build/bench/app-56k-stamped.bin of=/tmp/f.bin bs=1024 seek=8 conv=notrunc   # or app-blinky-{unstamped,stamped}.bin"
    echo "build/host/vboard --port 0 --fast --part f103c8 --flash /tmp/f.bin --exit-after 1 | grep 'app start'"
    echo "# f103rc: --part f103rc --board generic_f103rc, $FW_RC, build/bench/app-rc-128k-stamped.bin"
    echo '```'
    if [ ${#WARNINGS[@]} -gt 0 ]; then
        echo
        echo "## Warnings"
        echo
        printf -- '- %s\n' "${WARNINGS[@]}" | sort -u
    fi
    if [ ${#ERRORS[@]} -gt 0 ]; then
        echo
        echo "## Not measured"
        echo
        printf -- '- %s\n' "${ERRORS[@]}"
    fi
}

report >"$WORK/results.md"
cp "$WORK/results.md" "$OUT/results.md"
cat "$WORK/results.md"
echo
echo "bench: results written to $OUT/results.md ($(fmt %.0f "$(calc "$EPOCHREALTIME - $T_START")") s)"
if [ ${#ERRORS[@]} -gt 0 ]; then
    echo "bench: ${#ERRORS[@]} figure(s) could not be measured" >&2
    exit 1
fi
exit 0

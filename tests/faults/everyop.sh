#!/usr/bin/env bash
# everyop.sh - a power cut at EVERY flash operation of an update (issue 12),
# on the real bootloader binary in vboard, for several clients' request
# orders; torn operations (vboard --torn) at each cut.
#
#   tests/faults/everyop.sh [--short] [--jobs J] [--parts "f103c8 f103rc"]
#       [--images "stamped plain"] [--clients "leave plain pydfu abort-restart"]
#       [--seeds N] [--no-security] [--specials]
#   SEED=n  changes the torn seeds (printed; the same SEED replays a run)
#
# Per part, image kind and client: a template flash file holds the
# bootloader and an application A of that kind (stamped or not); the update
# writes B (another application of that kind). A dry run counts the flash
# operations N of the update (vboard prints them) and finds the commit words
# (the 8 bytes at APP_BASE, written last) and the session's first change
# (erase of APP_BASE's page or the invalidating 0x0000 programs). Then, for
# every K in 1..N: the same update on a copy of the template with vboard
# --cut-at-flash-op K --torn <seed>: op K is left torn (bits of its target
# partly changed), nothing after it happens. At the commit words and first
# changes also --torn old, --torn new, --torn 297 (3/1024 of the bits moved)
# and N more seeds (--seeds, default 8).
# After each cut (tests/faults/lib.sh after_bad_end): power on without the
# pin -> DFU mode or the complete old or new application, never a partial
# one (a torn but plausible vector table starting counts as partial), or for
# abort-restart the complete image its ABORT committed (outcome C); the
# bootloader bytes and option bytes unchanged; a fresh update then succeeds.
#
# --specials: only the cuts at the commit words and first changes (with all
# their variants), not at every operation: a quicker look at more configurations.
#
# Clients: leave = dfu-util -s ADDR:leave -D, plain = dfu-util -s ADDR -D
# (ABORT at the end), pydfu and abort-restart = tests/faults/dfuse_client.py.
#
# The security builds (WRP=1, RDP=1 bluepill): their first start rewrites the
# option bytes (1 erase + 8 programs); a cut at each, with old/new/seeds,
# then a power-on: counted are the cut points that leave the chip read-
# protected (RDP != 0xA5 or its complement broken, RM0008 FLASH_OBR.RDPRT),
# and those after which the bootloader no longer enumerates (bricks).
#
# --short (make test): f103c8 only, every K of the dfu-util :leave update of
# a stamped image plus the commit variants, pydfu and abort-restart at their
# commit words only, the security builds at every option-byte operation
# with one seed: every kind of operation (page erase, half-word program,
# 0x0000 invalidation, option-byte erase and program) and every torn kind.
set -u
source "$(dirname "$0")/lib.sh"

SHORT=0 JOBS=2 PARTS="f103c8 f103rc" IMAGES="stamped plain" CLIENTS="leave plain pydfu abort-restart"
NSEEDS=8 SECURITY=1 SPECIALS=0
while [ $# -gt 0 ]; do
    case $1 in
    --short) SHORT=1 PARTS=f103c8 IMAGES=stamped CLIENTS="leave pydfu abort-restart" NSEEDS=1 ;;
    --jobs) JOBS=$2; shift ;;
    --parts) PARTS=$2; shift ;;
    --images) IMAGES=$2; shift ;;
    --clients) CLIENTS=$2; shift ;;
    --seeds) NSEEDS=$2; shift ;;
    --no-security) SECURITY=0 ;;
    --specials) SPECIALS=1 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
# make test's subset is deterministic: a fixed seed unless one is given.
[ $SHORT = 1 ] && SEED=${SEED:-1}
SEED=${SEED:-$(( (RANDOM << 15 | RANDOM) % 1000000 ))}
PY=/usr/bin/python3
CLIENT_PY=$ROOT/tests/faults/dfuse_client.py
echo "everyop: seed $SEED (SEED=$SEED replays the torn states), $JOBS jobs"
T_START=$SECONDS
# The boots after a cut: paced (dfu-util's timing counts); app_runs needs the GPIO lines.
CHECK_VB_OPTS=""

# client ORDER PORT IMAGE: one update of IMAGE at APP_BASE in ORDER.
client() {
    local order=$1 port=$2 img=$3
    case $order in
    leave) dfu "$port" -a 0 -s $APP_BASE:leave -D "$img" ;;
    plain) dfu "$port" -a 0 -s $APP_BASE -D "$img" ;;
    pydfu|abort-restart)
        LIBUSB_USBIP_SERVERS=127.0.0.1:$port LIBUSB_SO=$FAULTS_BIN/libusb-1.0.so.0 \
            timeout 60 "$PY" "$CLIENT_PY" "$order" $APP_BASE "$img" $P_PAGE ;;
    esac
}

# update_run TAG FLASH ORDER IMAGE [VBOARD-ARGS...]: vboard in DFU mode (pin)
# on FLASH, the client's update; returns when vboard has stopped (a cut) or,
# without a cut, when the client is done (vboard then stopped by us).
update_run() {
    local tag=$1 flash=$2 order=$3 img=$4 log=$WORK/$1.cut.log vpid cpid end
    shift 4
    if ! vb_up "$log" "${P_VB[@]}" --flash "$flash" --pin PB2=1 --quiet-gpio --trace flash "$@" "$P_FW"; then
        echo "vboard did not start" >>"$log"
        return 1
    fi
    vpid=$VBPID
    wait_re "$log" 'usb enumerated|power cut' 30 "$vpid"
    client "$order" "$PORT" "$img" >"$WORK/$tag.client.log" 2>&1 &
    cpid=$!
    OUR_PIDS+=("$cpid")
    end=$((SECONDS + 90))
    # Until the power is cut (vboard stops by itself) or the client ends.
    while kill -0 "$vpid" 2>/dev/null && kill -0 "$cpid" 2>/dev/null && [ $SECONDS -le $end ]; do
        sleep 0.05
    done
    if kill -0 "$vpid" 2>/dev/null; then
        # The client ended first: a dry run, or a cut that never came.
        sleep 0.5
        vb_end "$vpid"
    fi
    wait "$vpid" 2>/dev/null
    # The client loses its device with the power; it must end on its own.
    end=$((SECONDS + 20))
    while kill -0 "$cpid" 2>/dev/null && [ $SECONDS -le $end ]; do sleep 0.05; done
    kill -9 "$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    return 0
}

# One worker: the plan lines W, W+J, ...: idx <TAB> K <TAB> torn
worker() {
    local w=$1 plan=$2 out=$3 tmpl=$4 a=$5 b=$6 order=$7 cfg=$8 c=${9:-}
    OUR_PIDS=()
    trap 'for p in "${OUR_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done' EXIT
    trap 'exit 1' TERM INT
    local idx k torn tag flash cut
    while IFS=$'\t' read -r idx k torn; do
        [ $((idx % JOBS)) = "$w" ] || continue
        tag=$cfg-$idx flash=$WORK/$tag.img
        cp "$tmpl" "$flash"
        update_run "$tag" "$flash" "$order" "$b" --cut-at-flash-op "$k" --torn "$torn"
        cut=$(grep -m1 -o 'power cut during flash op [0-9]* ([^)]*)' "$WORK/$tag.cut.log")
        after_bad_end "$tag" "$PORT" "$flash" "$tmpl" "$a" "$b" "$c"
        [ -n "$cut" ] || PROBLEM=${PROBLEM:-"no power cut at op $k (vboard: $(tail -1 "$WORK/$tag.cut.log"))"}
        printf '%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\n' "$idx" "$k" "$torn" "$OUTCOME" "$PROBLEM" "$cut" >>"$out"
        [ -n "$PROBLEM" ] || [ -n "${KEEP_WORK:-}" ] || rm -f "$WORK/$tag".*
    done <"$plan"
}

# run_config PART KIND ORDER: the dry run, then a cut at every operation.
run_config() {
    local part=$1 kind=$2 order=$3 cfg=$1-$2-$3 t0=$SECONDS
    part_setup "$part"
    local A=$WORK/$cfg-A.bin B=$WORK/$cfg-B.bin TMPL=$WORK/$cfg-template.img
    # Sizes: blinky (280 bytes) and some filler, one page: ~190 half-word
    # programs, so that a cut at every operation of every configuration
    # stays within 1.5 hours (a cut costs ~1.8 CPU s: two or three vboard
    # runs, two updates; the full campaign, 4,736 cuts, took 81 min with 4
    # jobs on 2 cores).
    if [ "$kind" = stamped ]; then
        make_image "$A" 330 11
        make_image "$B" 380 22
    else
        make_plain "$A" 330 11
        make_plain "$B" 380 22
    fi
    # abort-restart: what its ABORT commits (dfuse_client.py: 256-byte
    # blocks, half of them, here the first): that block, then erased flash
    # to the page's end. The restart's first change invalidates it.
    local C=""
    if [ "$order" = abort-restart ]; then
        C=$WORK/$cfg-C.bin
        { head -c 256 "$B"; head -c $((P_PAGE - 256)) /dev/zero | tr '\0' '\377'; } >"$C"
    fi
    if ! make_template "$TMPL" "$A"; then
        fail "$cfg-template" "cannot create the template flash file"
        return 1
    fi
    cp "$TMPL" "$WORK/$cfg-dry.img"
    update_run "$cfg-dry" "$WORK/$cfg-dry.img" "$order" "$B"
    local dlog=$WORK/$cfg-dry.cut.log
    local n
    n=$(sed -n 's/.*flash operations since power-on: \([0-9]*\).*/\1/p' "$dlog" | tail -1)
    if [ -z "$n" ] || [ "$n" -lt 10 ] || ! has_image "$WORK/$cfg-dry.img" "$B"; then
        fail "$cfg-dry-run" "the update without a cut did not complete (ops ${n:-?}; client: $(tail -1 "$WORK/$cfg-dry.client.log"))"
        return 1
    fi
    # The operations that decide what boots: programs of the 8 bytes at
    # APP_BASE (commit, invalidation) and the erase of APP_BASE's page.
    local special
    special=$(grep -E '\] flash: (programmed 0x0800200[0-7] |erased page 0x08002000 )' "$dlog" |
        sed -n 's/.*(op \([0-9]*\)).*/\1/p' | sort -n | uniq | tr '\n' ' ')
    local plan=$WORK/$cfg.plan i=0 k s
    : >"$plan"
    add() { printf '%d\t%s\t%s\n' $i "$1" "$2" >>"$plan"; i=$((i + 1)); }
    if [ $SPECIALS = 1 ]; then
        : # only the commit words and first changes, below
    elif [ $SHORT = 1 ]; then
        # The first erase, programs early, in the middle and late, the
        # commit words (below); dfu-util :leave only.
        [ "$order" = leave ] && for k in 1 2 $((n / 3)) $((n / 2)) $((n - 6)); do add "$k" $((SEED * 1000 + k)); done
    else
        for ((k = 1; k <= n; k++)); do add "$k" $((SEED * 1000 + k)); done
    fi
    for k in $special; do
        # make test: old and new with dfu-util :leave only.
        [ $SHORT = 1 ] && [ "$order" != leave ] || { add "$k" old; add "$k" new; }
        # Seed 297 moves 3/1024 of the bits (vboard's first draw): the end
        # where a torn erase leaves most 0 bits, which random seeds rarely hit.
        [ $SHORT = 1 ] || add "$k" 297
        for ((s = 1; s <= NSEEDS; s++)); do add "$k" $((SEED * 1000 + 7919 * s + k)); done
    done
    local res=$WORK/$cfg.results wpids=() w
    : >"$res"
    for ((w = 0; w < JOBS; w++)); do
        worker $w "$plan" "$res" "$TMPL" "$A" "$B" "$order" "$cfg" "$C" &
        wpids+=($!)
        OUR_PIDS+=($!)
    done
    for w in "${wpids[@]}"; do wait "$w"; done
    sort -n "$res" -o "$res"
    local idx torn outcome problem cut
    while IFS=$'\x1f' read -r idx k torn outcome problem cut; do
        [ -z "$problem" ] && [ $SHORT = 0 ] && { npass=$((npass + 1)); continue; }
        if [ -z "$problem" ]; then npass=$((npass + 1))
        else fail "$cfg cut at op $k/$n torn $torn: $cut -> $outcome" "$problem"
        fi
    done <"$res"
    local tried partial bricks others outcomes
    tried=$(wc -l <"$res")
    partial=$(awk -F'\x1f' '$4 == "partial"' "$res" | wc -l)
    bricks=$(awk -F'\x1f' '$4 == "brick"' "$res" | wc -l)
    others=$(awk -F'\x1f' '$5 != "" && $4 != "partial" && $4 != "brick"' "$res" | wc -l)
    outcomes=$(cut -d$'\x1f' -f4 "$res" | sort | uniq -c | awk '{printf "%s%s %s", sep, $2, $1; sep=", "}')
    [ "$tried" = "$i" ] || fail "$cfg-count" "planned $i cuts, $tried ran"
    [ $((partial + bricks + others)) = 0 ] && pass "$cfg: $tried cuts ($n operations, commit/first-change ops ${special% }), none partial or bricked"
    echo "== $cfg: $n flash operations, cuts tried $tried, partial starts $partial, bricks $bricks, other problems $others; after the cut: $outcomes; $((SECONDS - t0)) s"
    echo "$cfg $n $tried $partial $bricks $others" >>"$WORK/summary"
}

# ---- Security builds: cuts during the option-byte rewrite -----------------
ob_rdp_on() { # FLASHFILE: RDPRT would read 1 at the next option byte load
    local r c
    r=$(od -A n -t u1 -j "$P_FLASH" -N 1 "$1" | tr -d ' ')
    c=$(od -A n -t u1 -j $((P_FLASH + 1)) -N 1 "$1" | tr -d ' ')
    [ "$r" != 165 ] || [ $((r ^ c)) != 255 ]
}

run_security() {
    local v=$1 fw=$FAULTS_BIN/fw/bluepill-$1/dfuboot.bin t0=$SECONDS
    part_setup f103c8 "$fw"
    local fresh=$WORK/sec-$v-fresh.img dlog=$WORK/sec-$v-dry.log
    rm -f "$fresh"
    "$VBOARD" "${P_VB[@]}" --flash "$fresh" --port 0 --exit-after 0.000001 "$fw" >/dev/null 2>&1
    cp "$fresh" "$WORK/sec-$v-dry.img"
    "$VBOARD" "${P_VB[@]}" --flash "$WORK/sec-$v-dry.img" --port 0 --quiet-gpio --trace flash \
        --exit-after 1 >"$dlog" 2>&1
    local n
    n=$(grep -cE '\] flash: option byte' "$dlog")
    if [ "$n" -lt 2 ]; then
        fail "sec-$v-dry-run" "no option-byte rewrite at the first start ($n operations)"
        return 1
    fi
    local k torn tag img log prot=0 protk="" brick=0 tried=0 seeds="old new" s
    for ((s = 1; s <= NSEEDS; s++)); do seeds="$seeds $((SEED * 1000 + s))"; done
    for ((k = 1; k <= n; k++)); do
        for torn in $seeds; do
            [ "${torn//[0-9]/}" ] || torn=$((torn * 100 + k)) # a different mix per operation
            # make test: old/new at the erase and RDP program only.
            [ $SHORT = 1 ] && [ $k -gt 2 ] && [ "${torn//[0-9]/}" ] && continue
            tag=sec-$v-$k-$torn img=$WORK/$tag.img log=$WORK/$tag.log
            cp "$fresh" "$img"
            "$VBOARD" "${P_VB[@]}" --flash "$img" --port 0 --quiet-gpio --cut-at-flash-op "$k" \
                --torn "$torn" --exit-after 1 >"$log" 2>&1
            tried=$((tried + 1))
            grep -q "power cut during flash op $k " "$log" || { fail "$tag" "no cut at op $k"; continue; }
            if ob_rdp_on "$img"; then prot=$((prot + 1)); protk="$protk $k/$torn"; fi
            # Power on again: the bootloader must come up in DFU mode (no
            # application) and its pages be intact.
            vb_up "$log.2" "${P_VB[@]}" --flash "$img" --quiet-gpio "$fw"
            if wait_re "$log.2" 'usb enumerated' 20 "$VBPID" && cmp -s -n 4096 "$img" "$fresh"; then
                pass "$tag: cut during $(grep -o 'op [0-9]* ([^)]*)' "$log" | head -1) -> bootloader up$(ob_rdp_on "$img" && echo ', read-protected')"
            else
                brick=$((brick + 1))
                fail "$tag" "bootloader does not come up after the cut"
            fi
            vb_end "$VBPID"
        done
    done
    echo "== security $v: $n option-byte operations, cuts tried $tried, read-protected after the cut $prot (${protk# }), bricks $brick; $((SECONDS - t0)) s"
    echo "sec-$v $n $tried 0 $brick $prot" >>"$WORK/summary"
}

: >"$WORK/summary"
for part in $PARTS; do
    for kind in $IMAGES; do
        for order in $CLIENTS; do
            run_config "$part" "$kind" "$order"
        done
    done
done
if [ $SECURITY = 1 ]; then
    for v in wrp1 rdp1; do run_security $v; done
fi
awk '!/^sec-/ {n += $2; t += $3; p += $4; b += $5; o += $6}
     /^sec-/ {st += $3; sb += $5; sp += $6}
     END {printf "everyop: update cuts %d (over %d operations), partial starts %d, bricks %d, other problems %d; option-byte cuts %d, read-protected after the cut %d, bricks %d\n", t, n, p, b, o, st, sp, sb}' "$WORK/summary"
echo "everyop: $((SECONDS - T_START)) s in all"
finish

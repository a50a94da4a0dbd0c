#!/usr/bin/env bash
# bench/test_images.sh - the bench's image maker and flash-work counter
# (bench/images.py), the numbers the benchmark table's "datasheet" column
# rests on. Expected counts come from the flash rules, written here:
#  - PM0075 2.3.3 / RM0008 3.3.3: flash is erased by pages; a page that must
#    change is erased as a whole (issue 10: skip a page that already holds
#    what the session leaves, the new bytes and 0xFF where it writes nothing);
#  - DS5319 tPROG is per 16-bit half-word, and a half-word left 0xFFFF after
#    an erase needs no programming.
# Not the bench itself: no timing, no vboard.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
T=$(mktemp -d "${TMPDIR:-/tmp}/bench-images.XXXXXX")
trap 'rm -rf "$T"' EXIT
# Debian's python3 (mk/deps.sh); a python3 on PATH otherwise.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
IM="$PY bench/images.py"
pass=0 fail=0
check() { # NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok $1"; else fail=$((fail + 1)); echo "FAIL $1: expected '$2', got '$3'"; fi
}
# bytes N HEXBYTE: N copies of one byte.
bytes() { head -c "$1" /dev/zero | tr '\0' "\\$(printf '%03o' "0x$2")"; }

# 3 pages of 1024 bytes of 0x00.
bytes 3072 00 >"$T/zero3"
check identical_images_need_nothing "0 0" "$($IM work "$T/zero3" "$T/zero3" 1024)"

# One byte changed in page 1: that page is erased and all its 512 half-words
# (none 0xFFFF) programmed; pages 0 and 2 untouched.
{ bytes 1024 00; bytes 1 01; bytes 1023 00; bytes 1024 00; } >"$T/one"
check one_changed_byte_costs_its_whole_page "1 512" "$($IM work "$T/zero3" "$T/one" 1024)"

# A changed page whose first 10 half-words are 0xFFFF: 502 to program.
{ bytes 20 ff; bytes 1004 22; bytes 2048 00; } >"$T/ff10"
check ffff_halfwords_need_no_programming "1 502" "$($IM work "$T/zero3" "$T/ff10" 1024)"

# 0xFF00 and 0x00FF are not 0xFFFF: programmed.
{ printf '\377\000\000\377'; bytes 1020 ff; bytes 2048 00; } >"$T/half"
check half_ff_halfwords_are_programmed "1 2" "$($IM work "$T/zero3" "$T/half" 1024)"

# An image ending inside a page: the rest of that page is left 0xFF.
bytes 100 11 >"$T/short"
check short_image_leaves_ff_after_it "1 50" "$($IM work "$T/zero3" "$T/short" 1024)"
{ bytes 100 11; bytes 924 ff; bytes 2048 00; } >"$T/shortold"
check page_already_holding_image_and_ff_is_skipped "0 0" "$($IM work "$T/shortold" "$T/short" 1024)"
{ bytes 100 11; bytes 924 00; } >"$T/shortold0"
check old_bytes_after_a_short_image_must_go "1 50" "$($IM work "$T/shortold0" "$T/short" 1024)"

# 2 KiB pages: the same change costs 1024 half-words.
bytes 1024 00 >>"$T/one"
bytes 4096 00 >"$T/zero4"
check page_size_2048 "1 1024" "$($IM work "$T/zero4" "$T/one" 2048)"

# An old flash shorter than the image: refused, not counted as erased.
bytes 1024 00 >"$T/zero1"
$IM work "$T/zero1" "$T/zero3" 1024 >/dev/null 2>&1
check old_flash_too_short_is_an_error 1 $?

# Dense images: no 0xFF byte (so every half-word is programmed), repeatable.
$IM dense "$T/d1" 65536 7 && $IM dense "$T/d1b" 65536 7 && $IM dense "$T/d2" 65536 8
check dense_has_no_ff_byte 0 "$(od -An -v -tx1 "$T/d1" | tr ' ' '\n' | grep -c '^ff$')"
check dense_is_repeatable_from_its_seed 0 "$(cmp -s "$T/d1" "$T/d1b"; echo $?)"
check dense_seeds_differ 1 "$(cmp -s "$T/d1" "$T/d2"; echo $?)"
check dense_over_dense_needs_everything "64 32768" "$($IM work "$T/d2" "$T/d1" 1024)"

# change: pages 0, 4 of an 8-page image (every4), the vector table kept.
head -c 8192 "$T/d1" >"$T/d8"
$IM change "$T/c4" "$T/d8" 1024 5 every4
check every_fourth_page_changed "2 1024" "$($IM work "$T/d8" "$T/c4" 1024)"
check change_keeps_the_vector_table 0 "$(cmp -s <(head -c 64 "$T/d8") <(head -c 64 "$T/c4"); echo $?)"
$IM change "$T/c1" "$T/d8" 1024 5 3
check one_page_changed "1 512" "$($IM work "$T/d8" "$T/c1" 1024)"
$IM change "$T/cx" "$T/d8" 1024 5 8 >/dev/null 2>&1
check change_outside_the_image_is_an_error 1 $?

# fill: the application first, then dense bytes up to the size.
bytes 280 5a >"$T/app"
$IM fill "$T/f" "$T/app" 8192 9
check fill_size 8192 "$(stat -c %s "$T/f")"
check fill_keeps_the_application 0 "$(cmp -s "$T/app" <(head -c 280 "$T/f"); echo $?)"

echo "images: $pass passed, $fail failed"
[ $fail -eq 0 ]

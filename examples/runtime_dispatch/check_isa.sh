#!/bin/sh
# Fails if a function of the binary $1 that more than one translation unit may define (a global or
# weak symbol: inline code the linker keeps one copy of) and that is not specialised for AVX-512
# (no "avx512" in its name) uses an AVX-512 register: the AVX2 path could call it and crash.
# Local functions (compiler clones such as .isra, statics) stay inside the unit that made them, so
# the AVX-512 unit's own copies run only behind its AVX-512 entry point.
shared=$(nm --defined-only "$1" | awk '$2 ~ /^[TW]$/ { print $1 }')
objdump -d --no-show-raw-insn -C "$1" | awk -v shared="$shared" '
  BEGIN { n = split(shared, list, "\n"); for (i = 1; i <= n; ++i) global[list[i]] = 1 }
  /^[0-9a-f]+ <.*>:$/ { name = $0; safe = index(name, "avx512") > 0 || !($1 in global); next }
  !safe && /%zmm|%k[0-7]|%[xy]mm(1[6-9]|2[0-9]|3[01])/ { print "AVX-512 outside the AVX-512 kernels: " name; print; bad = 1; exit }
  END { exit bad }'

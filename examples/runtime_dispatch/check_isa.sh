#!/bin/sh
# Fails if a function of the binary $1 that is not specialised for AVX-512 (no "avx512" in its
# name) uses an AVX-512 register: such a function would crash an AVX2 machine.
objdump -d --no-show-raw-insn -C "$1" | awk '
  /^[0-9a-f]+ <.*>:$/ { name = $0; safe = index(name, "avx512") > 0; next }
  !safe && /%zmm|%k[0-7]|%[xy]mm(1[6-9]|2[0-9]|3[01])/ { print "AVX-512 outside the AVX-512 kernels: " name; print; bad = 1; exit }
  END { exit bad }'

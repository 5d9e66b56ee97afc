#!/usr/bin/env python3
# Emits the table of 128-bit powers of five for src/format/sl_json.c (pow5_table) into pow5.inc:
# P = floor(5^q * 2^s) with 2^127 <= P < 2^128, for q = -342..308. Exact integer arithmetic.
lines = []
for q in range(-342, 309):
    if q >= 0:
        v = 5 ** q
        b = v.bit_length()
        s = 128 - b
        P = v << s if s >= 0 else v >> (-s)
    else:
        d = 5 ** (-q)
        # smallest s with 2^s / d >= 2^127
        s = 127 + d.bit_length()
        P = (1 << s) // d
        while P >= (1 << 128):
            s -= 1; P = (1 << s) // d
        while P < (1 << 127):
            s += 1; P = (1 << s) // d
    assert (1 << 127) <= P < (1 << 128)
    lines.append("    {0x%016XU, 0x%016XU, %d}," % (P >> 64, P & ((1 << 64) - 1), s))
open('pow5.inc', 'w').write('\n'.join(lines) + '\n')
print(len(lines))

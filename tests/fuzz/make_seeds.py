#!/usr/bin/env python3
"""Writes tests/fuzz/seeds/: inputs for vma_core_fuzz (layout in fuzz_metadata.cpp) on TLSF in the
virtual layout (byte 0 = 0: TLSF; byte 1 = 0x80 | strategy; byte 3 = 0x80: granularity 1; byte 4 =
0: no margins), so that the short CI run starts where VirtualBlock's fast path (AllocateVirtual,
FreeVirtual) runs beside Allocate. Blocks of 4,024 units (size byte 104) and 2^20 (size byte 12);
300 operations each, deterministic."""
import os
import random

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seeds")
os.makedirs(here, exist_ok=True)
for size_byte, block in ((104, "small"), (12, "1m")):
    for strategy, name in ((0, "default"), (1, "min_time"), (2, "min_memory"), (3, "min_offset")):
        rng = random.Random(20261123 + 10 * strategy + size_byte)
        data = bytearray([0, 0x80 | strategy, size_byte, 0x80, 0])
        for _ in range(300):
            r = rng.random()
            if r < 0.6:  # allocate: opcode 0-4, size - 1 (u16 little-endian), alignment exponent / kind
                size = rng.choice([rng.randrange(0, 64), rng.randrange(0, 2048), rng.randrange(0, 65536)])
                b = rng.randrange(0, 12) | (rng.randrange(0, 16) << 4)
                data += bytes([rng.randrange(0, 5), size & 0xFF, size >> 8, b])
            elif r < 0.95:  # free live allocation number (next byte % count)
                data += bytes([5 + rng.randrange(0, 2), rng.randrange(0, 256)])
            else:  # free the newest
                data += bytes([7])
        with open(os.path.join(here, "tlsf_virtual_%s_%s" % (name, block)), "wb") as f:
            f.write(bytes(data))

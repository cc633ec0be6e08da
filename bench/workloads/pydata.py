"""pydata — a Python program builds ~200 MB of records and drops most of them.

Run with PYTHONMALLOC=malloc so that every object, small ones included,
comes from the allocator under test rather than Python's own arenas.

    pydata.py random [IDLE_S]   keep a random 25% of the records: survivors
                                are spread over every page (the hard case;
                                no allocator that never moves blocks can
                                give those pages back)
    pydata.py phased [IDLE_S]   records are built in 8 lists one after
                                another, as phases of a program; whole lists
                                are dropped, 2 of 8 kept
"""
import gc
import random
import sys

import pymark

RECORDS = 100_000


def record(i: int, rnd: random.Random) -> dict:
    return {
        "id": i,
        "name": f"user-{i:08d}-" + "n" * rnd.randint(4, 60),
        "tags": [f"tag{rnd.randint(0, 10**6)}" for _ in range(rnd.randint(0, 6))],
        "scores": [rnd.random() for _ in range(rnd.randint(1, 12))],
        "payload": f"{i}," * rnd.randint(8, 260),
    }


def random_survivors(rnd: random.Random):
    records = [record(i, rnd) for i in range(RECORDS)]
    pymark.mark("built")
    kept = [r for r in records if rnd.random() < 0.25]
    del records
    return kept


def phased(rnd: random.Random):
    phases = [[record(p * RECORDS // 8 + i, rnd) for i in range(RECORDS // 8)] for p in range(8)]
    pymark.mark("built")
    kept = [phases[2], phases[5]]
    del phases
    return kept


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "random"
    idle_s = float(sys.argv[2]) if len(sys.argv) > 2 else 0.0
    pymark.start(f"pydata-{mode}")
    rnd = random.Random(20240601)
    kept = random_survivors(rnd) if mode == "random" else phased(rnd)
    gc.collect()
    pymark.idle_and_poke(idle_s, pymark.traced_live_bytes())
    pymark.mark("end", pymark.traced_live_bytes())
    return kept


if __name__ == "__main__":
    main()

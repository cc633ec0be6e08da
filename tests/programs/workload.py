"""Allocation-heavy Python workload with a deterministic checksum.

Builds and drops dicts, lists, sets, strings and bytes of many sizes; the
printed checksum depends on every value built.  With CROWD_EXPECT_MAPPED
set, it first checks that the named allocator is mapped into this very
process (so the run really exercised it)."""
import hashlib
import os
import sys


def check_allocator_mapped():
    name = os.environ.get("CROWD_EXPECT_MAPPED")
    if not name:
        return
    with open("/proc/self/maps") as maps:
        if name not in maps.read():
            sys.exit(f"{name} is not mapped into python")


def churn(digest):
    for generation in range(30):
        table = {f"key-{generation}-{i}": [i, str(i) * (i % 17), (i, -i)]
                 for i in range(4000)}
        words = sorted(table, key=lambda k: (len(k), k))
        digest.update("".join(words[::97]).encode())
        chunks = [bytes([i % 251]) * (i * 37 % 70000) for i in range(120)]
        digest.update(b"".join(chunks[::7]))
        text = "".join(str(i * i) for i in range(20000))
        digest.update(text[generation::1013].encode())
        numbers = set(range(generation, 50000, 3)) ^ set(range(0, 50000, 5))
        digest.update(str(sum(numbers)).encode())
        nested = [[j] * (j % 50) for j in range(3000)]
        digest.update(str(sum(map(len, nested))).encode())
        del table, words, chunks, text, numbers, nested
    big = bytearray(64 << 20)  # a huge block, grown and shrunk
    big[-1] = 1
    big.extend(b"x" * (8 << 20))
    del big[: 32 << 20]
    digest.update(bytes(big[-10:]))
    return digest


def main():
    check_allocator_mapped()
    digest = churn(hashlib.sha256())
    print("checksum", digest.hexdigest())


main()

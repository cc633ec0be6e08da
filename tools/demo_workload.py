"""The README's main job: a program that works like a desktop application.

It opens "documents" (dicts of records, lists, strings), edits them, closes
most of them while a few objects from each stay alive, does that for a few
rounds, then waits idle as a program in its main loop would.  Run it with
PYTHONMALLOC=malloc so that every object goes through the C allocator.
"""
import random
import sys
import time

rng = random.Random(7)
keep = []


def open_document(n):
    doc = {"title": "doc %d" % n, "lines": [], "index": {}}
    for i in range(6000):
        line = "".join(rng.choice("abcdefghij ") for _ in range(rng.randint(10, 80)))
        doc["lines"].append(line)
        doc["index"].setdefault(line[:3], []).append(i)
    return doc


def edit(doc):
    for _ in range(1500):
        i = rng.randrange(len(doc["lines"]))
        doc["lines"][i] = doc["lines"][i].upper() + "!"


for round_ in range(4):
    docs = [open_document(round_ * 10 + d) for d in range(8)]
    for doc in docs:
        edit(doc)
    # Closing: one line in 150 of each document outlives it (an undo
    # history, a recent-files list).
    for doc in docs:
        keep.extend(doc["lines"][::150])
    del docs
    print("round %d closed, keeping %d objects" % (round_, len(keep)), flush=True)

checksum = sum(len(s) for s in keep)
print("kept %d strings, %d characters; idle now" % (len(keep), checksum), flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)

"""sqlite_churn — an in-memory SQLite database under insert/delete churn.

An application cache: ~150 MB of rows of mixed sizes inserted, then rounds
that delete a random 30% and insert as many new rows, then most rows are
deleted; auto_vacuum=FULL hands emptied pages back to the heap at each
commit, and SQLite is asked to shrink its memory.  SQLite's page cache allocates one block of
a little over 4 KiB per database page, so this is mostly a test of page-
sized blocks.  Live bytes are SQLite's own count (sqlite3_memory_used) plus,
in the calibration run under `-X tracemalloc`, what Python holds; the
markers of a measured run carry SQLite's part as sqlite_bytes.  Run with
PYTHONMALLOC=malloc.

    sqlite_churn.py [IDLE_S]
"""
import ctypes
import random
import sqlite3
import sys

import pymark

ROWS = 80_000


def sqlite_memory_used():
    lib = ctypes.CDLL("libsqlite3.so.0")  # the instance _sqlite3 is linked to
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lib.sqlite3_memory_used


def body(rnd: random.Random) -> bytes:
    n = int(2 ** rnd.uniform(6, 12.5))  # 64 B .. ~6 KiB, log-uniform
    return bytes([rnd.randrange(256)]) * n


def main():
    idle_s = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    pymark.start("sqlite")
    memory_used = sqlite_memory_used()
    rnd = random.Random(77)
    db = sqlite3.connect(":memory:")
    db.execute("PRAGMA auto_vacuum=FULL")  # commits give free pages back to the heap
    db.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, body BLOB)")
    db.execute("CREATE INDEX items_name ON items(name)")

    next_id = 0
    def insert(n):
        nonlocal next_id
        rows = [(next_id + i, f"item-{rnd.randrange(10**9)}", body(rnd)) for i in range(n)]
        db.executemany("INSERT INTO items VALUES (?, ?, ?)", rows)
        next_id += n
        db.commit()

    for _ in range(ROWS // 10_000):
        insert(10_000)
    pymark.mark("built", sqlite_bytes=memory_used())
    for _ in range(4):
        ids = [r[0] for r in db.execute("SELECT id FROM items")]
        gone = rnd.sample(ids, len(ids) * 3 // 10)
        db.executemany("DELETE FROM items WHERE id = ?", [(i,) for i in gone])
        db.commit()
        insert(len(gone))
    pymark.mark("churned", sqlite_bytes=memory_used())

    ids = [r[0] for r in db.execute("SELECT id FROM items")]
    db.executemany("DELETE FROM items WHERE id = ?", [(i,) for i in rnd.sample(ids, len(ids) * 9 // 10)])
    db.commit()
    db.execute("PRAGMA shrink_memory").fetchall()
    del ids
    python_bytes = pymark.traced_live_bytes()
    live = None if python_bytes is None else python_bytes + memory_used()
    pymark.idle_and_poke(idle_s, live, sqlite_bytes=memory_used())
    pymark.mark("end", live, sqlite_bytes=memory_used())
    db.close()


if __name__ == "__main__":
    main()

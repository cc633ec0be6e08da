"""A program for the map test (PYTHONMALLOC=malloc): records of several
sizes, most of them dropped, a quarter kept to the end, a short pause so
that the allocator's release thread has acted, then a normal exit (crowd
writes CROWD_MAP at exit)."""
import time

records = [{"name": "record %d" % i, "values": list(range(i % 40)), "text": "x" * (i % 700)} for i in range(60000)]
kept = records[::4]
del records
time.sleep(0.7)
print("kept", len(kept), flush=True)

"""The moments a footprint trace is judged at (see MEASURING.md):
peak; right after the release phase; after 1 s and 5 s with no allocator
call; after one more small malloc/free (the "poke")."""


def mark_time(trace: dict, name: str):
    for m in trace["marks"]:
        if m["name"] == name:
            return m["t"]
    return None


def sample_at(trace: dict, t: float):
    """First sample taken at or after t, as a dict, or None."""
    if t is None:
        return None
    for s in trace["samples"]:
        if s[0] >= t:
            return {"t": s[0], "vmrss_kb": s[1], "rss_kb": s[2], "lazyfree_kb": s[3], "anonhuge_kb": s[4]}
    return None


def live_bytes(trace: dict):
    for m in trace["marks"]:
        if m["name"] == "released" and "live_bytes" in m:
            return m["live_bytes"]
    return None


def points(trace: dict, extra=None) -> dict:
    released = mark_time(trace, "released")
    poked = mark_time(trace, "poked")
    out = {
        "peak_kb": trace["peak_rss_kb"],
        "sampled_peak_kb": max((s[2] for s in trace["samples"]), default=None),
        "released": sample_at(trace, released),
        "idle_1s": sample_at(trace, released and released + 1.0),
        "idle_5s": sample_at(trace, released and released + 5.0),
        "poked": sample_at(trace, poked and poked + 0.5),
        "live_bytes": live_bytes(trace),
    }
    if extra:
        mark, delay, _label = extra
        t = mark_time(trace, mark)
        out["extra"] = sample_at(trace, t and t + delay)
    return out

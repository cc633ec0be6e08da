"""pyspeed — a compute-heavy Python program for bench/speed: dicts, lists,
strings, small objects, nothing waiting on I/O.

Run by Debian's /usr/bin/python3 with PYTHONMALLOC=malloc (so every
object, small ones included, comes from the allocator under test) and
PYTHONHASHSEED=0 (so set and dict orders, and with them the work, are the
same in every run).  Fixed work, own generator: the output is the same
under every allocator, and the driver checks that it is.

    python3 pyspeed.py [SCALE=1.0]

Prints `RESULT <part>=<digest>` per part and `RESULT checksum=...` over all.
"""
import hashlib
import sys


class Rng:
    """A 64-bit LCG: the same numbers on every Python and machine."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        return self.state >> 33

    def below(self, n):
        return self.next() % n


SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "zen", "qua", "por", "est", "ing", "ox"]


def make_word(rng):
    return "".join(SYLLABLES[rng.below(len(SYLLABLES))] for _ in range(1 + rng.below(4)))


def word_counts(rng, n):
    """Tokenise generated text, count words and bigrams, rank them."""
    lines = []
    for _ in range(n):
        lines.append(" ".join(make_word(rng) for _ in range(5 + rng.below(12))))
    counts, bigrams = {}, {}
    for line in lines:
        words = line.split()
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        for a, b in zip(words, words[1:]):
            key = (a, b)
            bigrams[key] = bigrams.get(key, 0) + 1
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
    top_bi = sorted(bigrams.items(), key=lambda kv: (-kv[1], kv[0]))[:50]
    return repr((len(counts), len(bigrams), top, top_bi))


def records(rng, n):
    """Build records (dicts of strings, ints, floats, lists), group, join,
    filter, reformat — the inner loop of a report generator."""
    people = []
    for i in range(n):
        people.append({
            "id": i,
            "name": make_word(rng).title() + " " + make_word(rng).title(),
            "dept": "d%02d" % rng.below(40),
            "salary": 20000 + rng.below(80000) + rng.below(100) / 100.0,
            "tags": [make_word(rng) for _ in range(rng.below(5))],
        })
    by_dept = {}
    for p in people:
        by_dept.setdefault(p["dept"], []).append(p)
    summary = []
    for dept, members in sorted(by_dept.items()):
        members.sort(key=lambda p: (-p["salary"], p["id"]))
        tags = {}
        for p in members:
            for t in p["tags"]:
                tags[t] = tags.get(t, 0) + 1
        summary.append("%s|%d|%.2f|%s|%s" % (
            dept, len(members), sum(p["salary"] for p in members) / len(members),
            members[0]["name"], ",".join(sorted(tags, key=lambda t: (-tags[t], t))[:3])))
    rich = {p["id"]: p for p in people if p["salary"] > 90000}
    lines = ["{id:06d};{name:<24};{dept};{salary:>10.2f};{tags}".format(
        id=p["id"], name=p["name"], dept=p["dept"], salary=p["salary"], tags="/".join(p["tags"]))
        for p in people if p["id"] in rich or p["id"] % 7 == 0]
    return "\n".join(summary) + "\n" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def graph(rng, n):
    """A random graph as dict of sets; BFS from 12 nodes; connected
    components with a dict-based union-find."""
    adj = {i: set() for i in range(n)}
    for _ in range(n * 3):
        a, b = rng.below(n), rng.below(n)
        adj[a].add(b)
        adj[b].add(a)
    total = 0
    for start in range(0, n, max(1, n // 12)):
        seen = {start: 0}
        frontier = [start]
        while frontier:
            nxt = []
            for u in frontier:
                for v in adj[u]:
                    if v not in seen:
                        seen[v] = seen[u] + 1
                        nxt.append(v)
            frontier = nxt
        total += sum(seen.values())
    parent = {}

    def find(x):
        while parent.get(x, x) != x:
            parent[x] = parent.get(parent[x], parent[x])
            x = parent[x]
        return x
    for u, vs in adj.items():
        for v in vs:
            ru, rv = find(u), find(v)
            if ru != rv:
                parent[max(ru, rv)] = min(ru, rv)
    comps = len({find(u) for u in adj})
    return "%d %d" % (total, comps)


def strings(rng, n):
    """String building and rewriting: templates, replace, split/join,
    slicing, a small tokenizer."""
    out = []
    for i in range(n):
        s = "<%s a='%d' b=\"%s\">%s</%s>" % (make_word(rng), rng.below(1000), make_word(rng),
                                              " ".join(make_word(rng) for _ in range(8)), "x")
        s = s.replace("a", "A").replace("zen", "ZEN")
        parts = s.split(" ")
        parts.reverse()
        t = "|".join(p[::-1] for p in parts)
        tokens = []
        word = []
        for ch in t:
            if ch.isalpha():
                word.append(ch)
            elif word:
                tokens.append("".join(word))
                word = []
        out.append(":".join(tokens[:6]).upper() if i % 3 else t.lower())
    return hashlib.sha256("\n".join(out).encode()).hexdigest()


def main():
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    rng = Rng(20261130)
    parts = [
        ("words", word_counts(rng, int(12000 * scale))),
        ("records", records(rng, int(50000 * scale))),
        ("graph", graph(rng, int(20000 * scale))),
        ("strings", strings(rng, int(25000 * scale))),
    ]
    total = hashlib.sha256()
    for name, text in parts:
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        total.update(digest.encode())
        print(f"RESULT {name}={digest}")
    print(f"RESULT checksum={total.hexdigest()[:16]}")


if __name__ == "__main__":
    main()

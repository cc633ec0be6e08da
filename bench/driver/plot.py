"""RSS-over-time plots, one PNG per workload (matplotlib from Debian's
python3-matplotlib; imported only here so the rest runs without it)."""
COLOURS = {"glibc": "tab:gray", "jemalloc": "tab:blue", "tcmalloc": "tab:green",
           "mimalloc": "tab:orange", "crowd": "tab:red"}


def plot_workload(title: str, traces: dict, live_mib, path: str) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no plot: matplotlib missing (apt-get install -y python3-matplotlib, run with /usr/bin/python3)")
        return False
    fig, ax = plt.subplots(figsize=(12, 5.5), dpi=100)
    for name, trace in traces.items():
        colour = COLOURS.get(name)
        t = [s[0] for s in trace["samples"]]
        ax.plot(t, [s[2] / 1024 for s in trace["samples"]], color=colour, lw=1.4, label=f"{name} Rss")
        if any(s[3] for s in trace["samples"]):
            ax.plot(t, [(s[2] - s[3]) / 1024 for s in trace["samples"]], color=colour, lw=1, ls="--",
                    label=f"{name} Rss − LazyFree")
        for m in trace["marks"]:
            if m["name"] in ("released", "poked"):
                ax.axvline(m["t"], color=colour, lw=0.7, ls=":" if m["name"] == "released" else "-.")
    if live_mib is not None:
        ax.axhline(live_mib, color="black", lw=0.8, ls="--", label=f"live at release ({live_mib:.1f} MiB)")
    ax.set_xlabel("seconds since start   (dotted: release phase done; dash-dot: one malloc/free after idle)")
    ax.set_ylabel("RSS, MiB (smaps_rollup)")
    ax.set_title(title)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # outside: lines stay visible
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return True

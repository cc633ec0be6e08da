"""Plain-text tables with aligned columns."""


def fmt(value, spec="{:.2f}", missing="-"):
    return missing if value is None else spec.format(value)


def render(headers: list, rows: list) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    def line(cells):
        return "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])

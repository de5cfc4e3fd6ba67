"""Inline SVG charts (no scripts, no network): the waterfall of an explanation, plain bars."""

from __future__ import annotations

from html import escape

WIDTH, ROW, LABEL = 640, 26, 230
RAISE, LOWER, TOTAL = "#c0392b", "#27ae60", "#34495e"


def waterfall_svg(
    base: float, effects: list[tuple[str, float]], final: float, title: str = "why this risk"
) -> str:
    """Bars from the base rate through each reason's effect (probability points) to the score.

    ``base + sum(effects)`` should equal ``final``; any remainder is drawn as "other reasons".
    """
    remainder = final - base - sum(e for _, e in effects)
    steps = list(effects) + ([("other reasons", remainder)] if abs(remainder) > 5e-4 else [])
    rows = [("average invoice", 0.0, base, TOTAL)]
    level = base
    for name, effect in steps:
        rows.append((name, level, level + effect, RAISE if effect > 0 else LOWER))
        level += effect
    rows.append(("this account", 0.0, final, TOTAL))
    top = max([1e-9, *(max(a, b) for _, a, b, _ in rows)])
    scale = (WIDTH - LABEL - 70) / top
    height = ROW * len(rows) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="12">'
    ]
    for i, (name, start, end, colour) in enumerate(rows):
        y = 20 + i * ROW
        x0, x1 = LABEL + min(start, end) * scale, LABEL + max(start, end) * scale
        change = end - start
        text = f"{end:.0%}" if colour == TOTAL else f"{change * 100:+.1f} pts"
        parts.append(f'<text x="{LABEL - 8}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1.5):.1f}" height="{ROW - 8}" '
            f'fill="{colour}"><title>{escape(name)}: {text}</title></rect>'
        )
        parts.append(f'<text x="{x1 + 6:.1f}" y="{y + 14}">{text}</text>')
    parts.append(
        f'<text x="{LABEL}" y="12" fill="#555">{escape(title)} '
        "(probability of paying late)</text></svg>"
    )
    return "".join(parts)


def bars_svg(
    title: str, bars: list[tuple[str, float, str]], unit: str = "", fmt: str = "{:,.0f}"
) -> str:
    """Horizontal bars, one per ``(label, value, colour)``, each labelled with its value
    (written with ``fmt``)."""
    top = max([1e-9, *(v for _, v, _ in bars)])
    scale = (WIDTH - LABEL - 110) / top
    height = ROW * len(bars) + 30
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="12">',
        f'<text x="{LABEL}" y="12" fill="#555">{escape(title)}</text>',
    ]
    for i, (name, value, colour) in enumerate(bars):
        y = 20 + i * ROW
        label = f"{fmt.format(value)}{unit}"
        parts.append(f'<text x="{LABEL - 8}" y="{y + 14}" text-anchor="end">{escape(name)}</text>')
        parts.append(
            f'<rect x="{LABEL}" y="{y + 3}" width="{max(value * scale, 1.5):.1f}" '
            f'height="{ROW - 8}" fill="{colour}"><title>{escape(name)}: {label}</title></rect>'
        )
        parts.append(f'<text x="{LABEL + value * scale + 6:.1f}" y="{y + 14}">{label}</text>')
    parts.append("</svg>")
    return "".join(parts)


def lines_svg(
    title: str,
    labels: list[str],
    series: list[tuple[str, list[float], str]],
    unit: str = "",
    band: tuple[str, list[float], list[float], str] | None = None,
    fmt: str = "{:,.1f}",
    axis_fmt: str = "{:,.0f}",
) -> str:
    """A line per ``(name, values, colour)`` over the x ``labels``, with a legend and the last
    value of each line written beside it (with ``fmt``; the axis top with ``axis_fmt``);
    ``band``, ``(name, low, high, colour)``, is shaded behind the lines."""
    height, left, right, top, bottom = 260, 50, 110, 30, 40
    values = [v for _, line, _ in series for v in line if v == v]  # NaN-free
    if band is not None:
        values += [v for v in (*band[1], *band[2]) if v == v]
    high = max([1e-9, *values])
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step = plot_w / max(len(labels) - 1, 1)

    def point(i: int, v: float) -> str:
        return f"{left + i * step:.1f},{top + plot_h - v / high * plot_h:.1f}"

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" font-family="sans-serif" font-size="12">',
        f'<text x="{left}" y="14" fill="#555">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{axis_fmt.format(high)}{unit}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for i, label in enumerate(labels):
        if len(labels) <= 12 or i % max(1, len(labels) // 12) == 0:
            x = left + i * step
            parts.append(
                f'<text x="{x:.1f}" y="{height - 20}" text-anchor="middle">{escape(label)}</text>'
            )
    if band is not None:
        name, low, high_line, colour = band
        edge = [point(i, v) for i, v in enumerate(low)]
        edge += [point(i, v) for i, v in reversed(list(enumerate(high_line)))]
        parts.append(
            f'<polygon class="band" fill="{colour}" fill-opacity="0.25" stroke="none" '
            f'points="{" ".join(edge)}"><title>{escape(name)}</title></polygon>'
        )
    for k, (name, line, colour) in enumerate(series):
        shown = [(i, v) for i, v in enumerate(line) if v == v]
        if not shown:
            continue
        path = " ".join(point(i, v) for i, v in shown)
        parts.append(
            f'<polyline class="series" fill="none" stroke="{colour}" stroke-width="2" '
            f'points="{path}"><title>{escape(name)}</title></polyline>'
        )
        last_i, last_v = shown[-1]
        x, y = (float(c) for c in point(last_i, last_v).split(","))
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + 4:.1f}" fill="{colour}">'
            f"{escape(name)} {fmt.format(last_v)}{unit}</text>"
        )
        parts.append(
            f'<rect x="{left + 130 * k}" y="{height - 12}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{left + 130 * k + 14}" y="{height - 3}">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

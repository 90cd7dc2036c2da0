"""An SVG chart of a run: requests per second per workload and memory per setup, as bars."""

from __future__ import annotations

import math
from html import escape
from pathlib import Path

from bench.setups import SETUPS
from bench.workloads import WORKLOADS

COLOURS = {
    "composite": "#1f77b4",
    "uncached": "#aec7e8",
    "backend": "#ff7f0e",
    "waitress": "#2ca02c",
    "gunicorn": "#9467bd",
    "floor": "#7f7f7f",
    "flask_floor": "#bcbd22",
    "fastapi_floor": "#17becf",
}
WIDTH = 900
PANEL_HEIGHT = 260
LEFT = 60
LEGEND_PER_ROW = 5
SHORT_LABELS = {"composite, response cache off": "composite, no cache"}


class _Scale:
    """Value to bar height: linear from zero, or logarithmic from 1 (for spans like 10 to 20,000)."""

    def __init__(self, peak: float, height: float, log: bool) -> None:
        self.log = log
        self.top = math.ceil(math.log10(max(peak, 10))) if log else max(peak, 1)
        self.height = height

    def __call__(self, value: float) -> float:
        if self.log:
            return self.height * max(math.log10(max(value, 1)), 0) / self.top
        return self.height * value / self.top

    def ticks(self) -> list[float]:
        return [10.0**e for e in range(1, int(self.top) + 1)] if self.log else [self.top / 2, self.top]


def _bars(
    groups: list[tuple[str, list[tuple[str, float]]]], top: int, title: str, unit: str, *, log: bool = False
) -> list[str]:
    """One panel of grouped bars: groups of (setup, value), each labelled with its value."""
    peak = max((v for _, bars in groups for _, v in bars), default=1)
    height = PANEL_HEIGHT - 70
    scale = _Scale(peak, height, log)
    base = top + 30 + height
    parts = [f'<text x="{LEFT}" y="{top + 16}" font-size="15" font-weight="bold">{escape(title)}</text>']
    parts.append(f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - 10}" y2="{base}" stroke="#333"/>')
    for tick in scale.ticks():
        y = base - scale(tick)
        parts.append(f'<line x1="{LEFT}" y1="{y:.0f}" x2="{WIDTH - 10}" y2="{y:.0f}" stroke="#ddd"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.0f}" font-size="11" text-anchor="end">{tick:,.0f}</text>'
        )
    middle = base - height / 2
    parts.append(
        f'<text x="14" y="{middle:.0f}" font-size="11" transform="rotate(-90 14 {middle:.0f})"'
        f' text-anchor="middle">{escape(unit)}</text>'
    )
    slot = (WIDTH - LEFT - 20) / max(len(groups), 1)
    for index, (label, bars) in enumerate(groups):
        x0 = LEFT + 10 + index * slot
        bar_width = min(26.0, (slot - 16) / max(len(bars), 1))
        for j, (setup, value) in enumerate(bars):
            h = scale(value)
            x = x0 + j * bar_width
            parts.append(
                f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_width - 2:.1f}" height="{h:.1f}"'
                f' fill="{COLOURS.get(setup, "#999")}">'
                f"<title>{escape(SETUPS[setup].label)}: {value:,.0f}</title></rect>"
            )
            parts.append(
                f'<text x="{x + (bar_width - 2) / 2:.1f}" y="{base - h - 3:.1f}" font-size="8"'
                f' text-anchor="middle">{value:,.0f}</text>'
            )
        parts.append(
            f'<text x="{x0 + (slot - 16) / 2:.0f}" y="{base + 16}" font-size="11" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    return parts


def write(data: dict, path: Path) -> None:
    """Write the chart for one run's results."""
    order = [w for w in WORKLOADS if w in data["results"]]
    throughput = [(w, [(setup, r.rps) for setup, r in data["results"][w].items()]) for w in order]
    memory = []
    for when, label in (("rest", "at rest"), ("after", "peak")):
        key = "rss_mib" if when == "rest" else "peak_mib"
        bars = [(name, info[when][key]) for name, info in data["setups"].items() if when in info]
        memory.append((label, bars))
    legend_y = 2 * PANEL_HEIGHT + 20
    legend_rows = math.ceil(len(data["setups"]) / LEGEND_PER_ROW)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{legend_y + 20 * legend_rows + 10}"'
        ' font-family="sans-serif">',
        '<rect width="100%" height="100%" fill="white"/>',
        *_bars(
            throughput, 0, "Throughput per workload (median of rounds, log scale)", "requests / s", log=True
        ),
        *_bars(memory, PANEL_HEIGHT, "Memory per setup (summed over its processes)", "MiB"),
    ]
    for index, name in enumerate(data["setups"]):
        row, column = divmod(index, LEGEND_PER_ROW)
        x, y = LEFT + column * 170, legend_y + 20 * row
        parts.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{COLOURS.get(name, "#999")}"/>')
        short = SETUPS[name].label.split(" (")[0] if name != "gunicorn" else "gunicorn, 2 workers"
        short = SHORT_LABELS.get(short, name if short == "frontend alone" else short)
        parts.append(f'<text x="{x + 16}" y="{y + 11}" font-size="12">{escape(short)}</text>')
    parts.append("</svg>")
    path.write_text("\n".join(parts) + "\n")

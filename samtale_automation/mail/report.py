"""The round report as one self-contained HTML file HR can mail to management (`samtale report`).

No network: styles inline, the chart an inline SVG, no scripts, and a Content-Security-Policy
that forbids every fetch, so the file shows the same offline, in a mail client or a browser.
Every text from the workbook is autoescaped (a department called `<script>` stays text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jinja2

from samtale_automation.domain.model import OSLO
from samtale_automation.texts import tr

#: One colour per status (STATUS_CODES order), readable when printed in grey too.
COLOURS = ("#c9d3dc", "#9fb4c7", "#6f93b5", "#4a78a3", "#f0b35e", "#e0874a", "#3f9a5c", "#b0b0b0")
BAR_HEIGHT, GAP, LABEL_WIDTH, CHART_WIDTH = 22, 8, 190, 420


@dataclass(frozen=True)
class _Bar:
    label: str
    y: int
    parts: tuple[tuple[int, int, str, int], ...]  # (x, width, colour, count)
    total: int


def _chart(report: Any) -> dict[str, Any]:
    """The stacked bars per department, laid out in pixels for the SVG."""
    lines = [line for line in report.departments if line.people]
    biggest = max((line.people for line in lines), default=1) or 1
    bars = []
    for index, line in enumerate(lines):
        x, parts = LABEL_WIDTH, []
        for code_index, count in enumerate(line.statuses):
            width = round(CHART_WIDTH * count / biggest)
            if count:
                parts.append((x, width, COLOURS[code_index % len(COLOURS)], count))
            x += width
        bars.append(_Bar(line.name, index * (BAR_HEIGHT + GAP), tuple(parts), line.people))
    return {"bars": bars, "height": max(1, len(bars)) * (BAR_HEIGHT + GAP), "bar": BAR_HEIGHT,
            "width": LABEL_WIDTH + CHART_WIDTH + 60, "legend_y": len(bars) * (BAR_HEIGHT + GAP) + 16,
            "legend": [(i * 78, COLOURS[i % len(COLOURS)], label) for i, label in enumerate(report.status_labels)]}


_TEMPLATE = """<!DOCTYPE html>
<html lang="{{ lang }}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="referrer" content="no-referrer">
<title>{{ t.title }}</title>
<style>
body { font-family: Calibri, Arial, sans-serif; font-size: 11pt; color: #222; margin: 24px; }
table { border-collapse: collapse; margin: 8px 0 20px; }
th, td { border: 1px solid #c8c8c8; padding: 3px 8px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #eef2f6; }
tr.total td { font-weight: bold; }
.note { color: #555; font-size: 10pt; }
.legend span { display: inline-block; margin-right: 14px; font-size: 9pt; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; }
</style>
</head>
<body>
<h1>{{ t.title }}</h1>
<p>{{ t.made }}{% if days_left is not none %} · {{ t.days_left }}{% endif %}</p>
{% macro block(title, head, lines, total) %}
<h2>{{ title }}</h2>
<table>
<tr><th>{{ head }}</th><th>{{ t.people }}</th><th>{{ t.completion }}</th>
{% for label in report.status_labels %}<th>{{ label }}</th>{% endfor %}
<th>{{ t.open }}</th><th>{{ t.overdue }}</th></tr>
{% for line in lines %}
<tr><td>{{ line.name }}</td><td>{{ line.people }}</td><td>{{ line.completion }} %</td>
{% for n in line.statuses %}<td>{{ n }}</td>{% endfor %}
<td>{{ line.actions_open }}</td><td>{{ line.actions_overdue }}</td></tr>
{% endfor %}
<tr class="total"><td>{{ total.name }}</td><td>{{ total.people }}</td><td>{{ total.completion }} %</td>
{% for n in total.statuses %}<td>{{ n }}</td>{% endfor %}
<td>{{ total.actions_open }}</td><td>{{ total.actions_overdue }}</td></tr>
</table>
{% endmacro %}
{{ block(t.by_department, t.department, report.departments, report.total) }}
<svg xmlns="http://www.w3.org/2000/svg" width="{{ chart.width }}" height="{{ chart.height }}" role="img"
 aria-label="{{ t.chart }}">
{% for bar in chart.bars %}
<text x="{{ 185 }}" y="{{ bar.y + 15 }}" text-anchor="end" font-size="12">{{ bar.label }}</text>
{% for x, w, colour, n in bar.parts %}<rect x="{{ x }}" y="{{ bar.y }}" width="{{ w }}" height="{{ chart.bar }}"
 fill="{{ colour }}"><title>{{ n }}</title></rect>{% endfor %}
{% endfor %}
</svg>
<p class="legend">{% for x, colour, label in chart.legend %}
<span><i style="background: {{ colour }}"></i>{{ label }}</span>
{% endfor %}</p>
{{ block(t.by_manager, t.manager, report.managers, report.total) }}
{% if report.people %}
<h2>{{ t.people_title }}</h2>
<table><tr><th>{{ t.manager }}</th><th>{{ t.id }}</th><th>{{ t.name }}</th><th>{{ t.status }}</th></tr>
{% for manager, id, name, status in report.people %}
<tr><td>{{ manager }}</td><td>{{ id }}</td><td>{{ name }}</td><td>{{ status }}</td></tr>
{% endfor %}
</table>
{% endif %}
<p class="note">{{ t.privacy }}{% if report.folded_note %} {{ report.folded_note }}{% endif %}</p>
</body>
</html>
"""


def render_report(report: Any) -> str:
    """The report (plans.report.Report) as one HTML document."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    made = report.made.astimezone(OSLO)
    who = f"{report.company} – " if report.company else ""
    texts = {
        "title": tr(f"{who}medarbeidersamtaler {report.round}", f"{who}development conversations {report.round}"),
        "made": tr(f"Per {made:%d.%m.%Y}", f"As of {made:%Y-%m-%d}"),
        "days_left": tr(f"{report.days_left} dager igjen av runden", f"{report.days_left} days left of the round"),
        "people": tr("Personer", "People"), "completion": tr("Fullført", "Completed"),
        "open": tr("Tiltak åpne", "Actions open"), "overdue": tr("Tiltak forfalt", "Actions overdue"),
        "by_department": tr("Per avdeling", "By department"), "department": tr("Avdeling", "Department"),
        "by_manager": tr("Per leder", "By manager"), "manager": tr("Leder", "Manager"),
        "chart": tr("Samtaler per avdeling etter status", "Conversations per department by status"),
        "people_title": tr("Per medarbeider", "By employee"), "id": "AnsattID", "name": tr("Navn", "Name"),
        "status": "Status",
        "privacy": tr("Rapporten viser bare tall og status, aldri innholdet i samtalene. «Fullført» er signerte "
                      "referater av samtalene som ikke er avlyst.",
                      "The report shows numbers and status only, never what was said. «Completed» is signed minutes "
                      "of the conversations not cancelled."),
    }
    lang = "en" if tr("nb", "en") == "en" else "nb"
    return env.from_string(_TEMPLATE).render(report=report, t=texts, chart=_chart(report), lang=lang,
                                             days_left=report.days_left)

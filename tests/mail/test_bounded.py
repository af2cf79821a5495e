"""A hostile template in maler/ cannot hang a run: rendering work is bounded and the error names the file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from samtale_automation.commands.init import init_folder
from samtale_automation.errors import ConfigError
from samtale_automation.mail import bounded
from samtale_automation.mail.samples import sample_context
from samtale_automation.mail.templates import Templates

pytestmark = pytest.mark.usefixtures("nb_messages")

HOSTILE = {
    "huge range": ("{% for i in range(10**9) %}x{% endfor %}", "range() med 1 000 000 000 tall"),
    "nested loops": ("{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
                     "for mye arbeid"),
    "loop over a loop": ("{% for i in range(9999) %}{% for j in range(9999)|list %}{{ j }}{% endfor %}{% endfor %}",
                         "for mye arbeid"),
    "macro calling itself twice": ("{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}"
                                   "{{ f(60) }}", "for mye arbeid"),
    "text times a billion": ('{{ "x" * 10**9 }}', "for lang"),
    "list times a billion": ("{{ [1] * 10**9 }}", "for lang"),
    "huge power": ("{{ 9 ** 999999999 }}", "for stort"),
    "doubling in a namespace": ('{% set ns = namespace(s="x") %}{% for i in range(40) %}'
                                "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}", "for lang"),
    "doubling through a macro": ('{% macro d(s, n) %}{% if n %}{{ d(s ~ s, n - 1) }}{% else %}{{ s|length }}'
                                 '{% endif %}{% endmacro %}{{ d("x", 40) }}', "for lang"),
    "wide filter": ('{{ "x"|center(10**9) }}', "for lang"),
    "big output": ('{% for i in range(5000) %}{{ "x" * 999 }}{% endfor %}', "over 1 000 000 tegn tekst"),
    "string method": ('{{ "x".ljust(10**9) }}', "for lang"),
    "wide format": ('{{ "{:>999999999}".format("x") }}', "for lang"),
    "wide percent format": ('{{ "%999999999s" % "x" }}', "for lang"),
    "wide format filter": ('{{ "%999999999s"|format("x") }}', "for lang"),
    "width from the arguments": ('{{ "%*s" % (10**9, "x") }}', "for lang"),
    "nested format width": ('{{ "{:>{}}".format("x", 10**9) }}', "for lang"),
}


@pytest.fixture
def maler(tmp_path: Path) -> Path:
    folder = tmp_path / "maler"
    (folder / "nb").mkdir(parents=True)
    return folder


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_override_is_a_config_error_naming_the_file(maler: Path, case: str) -> None:
    """Verify each way to make a template run for ever (or fill the memory) stops with a ConfigError naming it."""
    source, words = HOSTILE[case]
    (maler / "nb" / "invitation.txt").write_text(f"Hei\n\n{source}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Templates("nb", maler).render("invitation", sample_context("invitation", "nb"))
    message = caught.value.message
    assert message.startswith("Feil i e-postmalen maler/nb/invitation.txt"), message
    assert words in message
    assert "slett filen" in caught.value.hint


def test_loop_of_realistic_size_is_fine(maler: Path) -> None:
    """Verify the limits leave room for real mails: thousands of items, loops in loops of modest size."""
    (maler / "nb" / "invitation.txt").write_text(
        "{% for i in range(5000) %}{{ i }}{% endfor %}\n"
        "{% for i in range(100) %}{% for j in range(100) %}.{% endfor %}{% endfor %}\n"
        '{% set ns = namespace(n=0) %}{% for i in range(1000) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}\n',
        encoding="utf-8")
    text = Templates("nb", maler).render("invitation", sample_context("invitation", "nb")).text
    assert "499500" in text and "." * 10_000 in text


def test_big_numbers_as_values_are_fine(maler: Path) -> None:
    """Verify only widths and counts are limited: a big number may be shown, formatted and filtered."""
    (maler / "nb" / "invitation.txt").write_text(
        '{{ 98765432|string }} {{ "{:,}".format(1234567890) }} {{ "%d"|format(1234567890) }} '
        "{{ 12345678901234567890 * 3 }} {{ 2 ** 64 }}\n", encoding="utf-8")
    text = Templates("nb", maler).render("invitation", sample_context("invitation", "nb")).text
    assert text == "98765432 1,234,567,890 1234567890 37037036703703703670 18446744073709551616\n"


def test_each_render_has_its_own_budget(maler: Path) -> None:
    """Verify the step budget is per render: many renders, each well inside the limit, all succeed."""
    (maler / "nb" / "invitation.txt").write_text("{% for i in range(9000) %}{% endfor %}ok\n", encoding="utf-8")
    templates = Templates("nb", maler)
    per_render = 3 * 9000  # text: the loop; subject and html: the shipped files, a few steps
    for _ in range(bounded.MAX_STEPS // per_render + 3):
        assert templates.render("invitation", sample_context("invitation", "nb")).text == "ok\n"


def test_templates_show_with_a_hostile_override_ends_with_the_file_named(tmp_path: Path) -> None:
    """Verify `samtale templates show` on a folder with `range(10**9)` in maler/ ends with exit 2, naming the file."""
    folder = tmp_path / "f"
    init_folder(folder)
    (folder / "maler" / "invitation.txt").write_text(
        "{% for i in range(9999) %}{% for j in range(9999) %}{{ i * j }}{% endfor %}{% endfor %}\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "samtale_automation", "--dir", str(folder), "templates", "show",
                             "invitation"], capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
                            env={**os.environ, "SAMTALE_LANG": "nb"}, check=False)
    assert result.returncode == 2, result.stderr
    assert "maler/invitation.txt" in result.stderr
    assert "for mye arbeid" in result.stderr or "over 1 000 000 tegn" in result.stderr

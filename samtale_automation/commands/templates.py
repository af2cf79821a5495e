"""`samtale templates list|show`: the e-mail templates, which of them maler/ overrides, and a sample.

Needs no workbook: only the folder's maler/ (DESIGN.md §3), which may be missing.
"""

from __future__ import annotations

from pathlib import Path

from samtale_automation.commands.results import TemplateList, TemplateShow
from samtale_automation.errors import UsageError
from samtale_automation.paths import TEMPLATE_OVERRIDE_DIR
from samtale_automation.texts import tr


def run_templates_list(root: Path) -> TemplateList:
    """Every template with what `root`/maler/ overrides, and the files there that override nothing."""
    from samtale_automation.mail.templates import list_templates, stray_overrides

    override = root / TEMPLATE_OVERRIDE_DIR
    folder = override if override.is_dir() else None
    return TemplateList(list_templates(folder), override, stray_overrides(folder))


def run_templates_show(root: Path, name: str, lang: str) -> TemplateShow:
    """A template's files (standard or from maler/) and a rendering with made-up data."""
    from samtale_automation.mail.samples import sample_context
    from samtale_automation.mail.templates import (
        TEMPLATE_NAMES,
        Templates,
        template_files,
        template_kind,
    )

    if name not in TEMPLATE_NAMES:
        raise UsageError(tr(f"Ingen mal heter «{name}».", f"No template is called «{name}»."),
                         hint=tr("Se «samtale templates list».", "See «samtale templates list»."))
    override = root / TEMPLATE_OVERRIDE_DIR
    folder = override if override.is_dir() else None
    files = template_files(name, lang, folder)
    templates = Templates(lang, folder)
    if template_kind(name) == "mail":
        rendered = templates.render(name, sample_context(name, lang))
        return TemplateShow(files, rendered.text, rendered.subject)
    return TemplateShow(files, templates.fragment(name, sample_context(name, lang)).text)

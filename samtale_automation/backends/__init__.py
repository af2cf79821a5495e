"""Backends by name (DESIGN.md §7), imported only when chosen: exchangelib and msal are slow to import."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from samtale_automation.config import BACKENDS
from samtale_automation.domain.messages import Person
from samtale_automation.errors import ConfigError
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.config import Config
    from samtale_automation.domain.messages import Backend
    from samtale_automation.paths import Folder

#: name → module; each module has `create(context: BackendContext) -> Backend`.
MODULES: dict[str, str] = {name: f"samtale_automation.backends.{name}" + ("" if name == "outbox" else ".backend")
                           for name in BACKENDS}


@dataclass
class BackendContext:
    """What a backend may use: the folder, the settings, the clock and a way to wait (injectable for tests)."""

    folder: Folder
    config: Config
    now: datetime
    sleep: Callable[[float], None] = field(default=lambda seconds: __import__("time").sleep(seconds))
    ssl_context: Any = None  # an ssl.SSLContext trusting a private CA (tests, in-house relays); None: the OS's

    def sending_mailbox(self) -> Person:
        """`[mail] mailbox` (`hr@firma.no` or `HR <hr@firma.no>`) as the sender; ConfigError when it is not set."""
        mailbox = self.config.require_mailbox()
        return Person(mailbox.address, mailbox.name)


def open_backend(context: BackendContext, name: str | None = None) -> Backend:
    """Import and create the backend named in samtale.toml (or `name`)."""
    chosen = name or context.config.backend
    module_name = MODULES.get(chosen)
    if module_name is None:
        names = ", ".join(MODULES)
        raise ConfigError(tr(f"Backend «{chosen}» finnes ikke i denne versjonen.",
                             f"Backend «{chosen}» does not exist in this version."),
                          hint=tr(f"Sett [mail] backend i samtale.toml til en av: {names}.",
                                  f"Set [mail] backend in samtale.toml to one of: {names}."))
    module = importlib.import_module(module_name)
    backend: Backend = module.create(context)
    return backend

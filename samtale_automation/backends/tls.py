"""A `requests` adapter whose TLS uses a given SSLContext, shared by the ews and graph backends.

With it, HTTPS trusts what that context trusts: the OS's CAs (a company CA installed there too), or
a private CA in the tests, also through a proxy.
"""

from __future__ import annotations

import ssl
from typing import Any

from requests.adapters import HTTPAdapter


class ContextAdapter(HTTPAdapter):
    """An HTTP adapter verifying with our SSL context; pool options go to HTTPAdapter."""

    def __init__(self, context: ssl.SSLContext, **pool_options: Any) -> None:
        self._context = context
        super().__init__(**pool_options)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Pools whose TLS uses the given context."""
        kwargs["ssl_context"] = self._context
        super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        """Proxies whose TLS uses the given context."""
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(*args, **kwargs)

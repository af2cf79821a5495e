"""What a failed TLS or TCP connection means, in words naming the setting to fix (SMTP and IMAP).

Both protocols live in samtale.toml's `[smtp]` section, under different keys (`host`/`imap_host`,
`port`/`imap_port`, `security`/`imap_security`); the four network failures read the same for both.
"""

from __future__ import annotations

import socket
import ssl

from samtale_automation.errors import BackendError
from samtale_automation.texts import tr

_TOML = "samtale.toml"


def explain_network(exc: BaseException, *, server: str, host: str, where: str, detail: str, keys: tuple[str, str, str],
                    ports: str) -> BackendError | None:
    """The error for a certificate, TLS, name-lookup or refused-connection failure; None for anything else.

    `server` is «SMTP» or «IMAP»; `keys` are the host, port and security keys in `[smtp]`; `ports`
    says which security goes with which port.
    """
    host_key, port_key, security_key = keys
    if isinstance(exc, ssl.SSLCertVerificationError):
        return BackendError(
            tr(f"Sertifikatet til {server}-serveren {where} kunne ikke godkjennes ({detail}).",
               f"The certificate of the {server} server {where} could not be verified ({detail})."),
            hint=tr(f"Kontroller [smtp] {host_key} i {_TOML}: navnet må være det som står i serverens sertifikat.",
                    f"Check [smtp] {host_key} in {_TOML}: the name must be the one in the server's certificate."))
    if isinstance(exc, ssl.SSLError):
        return BackendError(
            tr(f"TLS mot {server}-serveren {where} mislyktes ({detail}).",
               f"TLS with the {server} server {where} failed ({detail})."),
            hint=tr(f"Kontroller [smtp] {security_key} og {port_key} i {_TOML}: {ports}.",
                    f"Check [smtp] {security_key} and {port_key} in {_TOML}: {ports}."))
    if isinstance(exc, socket.gaierror):
        return BackendError(
            tr(f"Fant ikke {server}-serveren «{host}» ({detail}).",
               f"The {server} server «{host}» was not found ({detail})."),
            hint=tr(f"Rett [smtp] {host_key} i {_TOML}, og kontroller nettverket.",
                    f"Correct [smtp] {host_key} in {_TOML}, and check the network."))
    if isinstance(exc, ConnectionRefusedError):
        return BackendError(
            tr(f"{server}-serveren {where} avviste tilkoblingen.",
               f"The {server} server {where} refused the connection."),
            hint=tr(f"Kontroller [smtp] {host_key} og {port_key} i {_TOML}: {ports}.",
                    f"Check [smtp] {host_key} and {port_key} in {_TOML}: {ports}."))
    return None

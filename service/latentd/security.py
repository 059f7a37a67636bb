"""The server's API keys and TLS files from the settings (the edge, `api/`, takes them as
plain objects), the SIGHUP handler that re-reads the key file, and the start-up line
that says what is on."""

from __future__ import annotations

import logging
import signal
from typing import TYPE_CHECKING

from latentd.config import Settings

if TYPE_CHECKING:  # grpc loads with them; `latentd --help` stays fast
    from latentd.api.auth import KeyRing
    from latentd.api.tls import TlsFiles

log = logging.getLogger("latentd")

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def key_ring(settings: Settings) -> KeyRing | None:
    """The keys of the settings, None when none are configured (every call is let
    through). Raises UnusableKeys (an OSError) naming the setting or the file's line."""
    from latentd.api.auth import KeyRing

    keys = KeyRing(settings.api_keys, settings.read_only_api_keys, settings.api_key_file)
    return keys if keys.enabled else None


def tls_files(settings: Settings) -> TlsFiles | None:
    from latentd.api.tls import TlsFiles

    if settings.tls_cert is None or settings.tls_key is None:
        return None
    return TlsFiles(settings.tls_cert, settings.tls_key, settings.tls_client_ca)


def reload_keys_on_sighup(keys: KeyRing | None) -> None:
    """SIGHUP re-reads the key file; a file that cannot be used keeps the keys in use."""

    def on_sighup(signum: int, frame: object) -> None:
        if keys is None:
            log.info("SIGHUP: no API keys are configured; nothing to re-read")
        else:
            keys.reload()

    if hasattr(signal, "SIGHUP"):  # not on Windows
        signal.signal(signal.SIGHUP, on_sighup)


def log_security(keys: KeyRing | None, tls: TlsFiles | None, host: str) -> None:
    """One line: TLS or not, keys or not (counts, never keys). A warning when the server
    listens beyond this machine with neither."""
    transport = tls.describe() if tls is not None else "TLS off (plaintext)"
    access = keys.describe() if keys is not None else "no API keys (every call is let through)"
    if keys is None and tls is None and host not in LOOPBACK:
        log.warning(
            "security: %s, %s, on %s: anyone who reaches the port may read and write; "
            "set --api-key-file and --tls-cert/--tls-key",
            transport,
            access,
            host,
        )
    else:
        log.info("security: %s, %s", transport, access)

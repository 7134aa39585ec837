"""TLS: which certificate authorities to trust, and whether a server speaks TLS at all.

A corporate network that inspects TLS re-signs every certificate with its own CA; the reconciler then needs
that CA's PEM file, named like other tools name it (REQUESTS_CA_BUNDLE, SSL_CERT_FILE) or in an environment
file (`caBundle`, ClientSettings.ca_bundle). A bundle replaces the default CAs, as it does for curl and
requests.
"""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Mapping
from typing import Final

from reconciler import files
from reconciler.errors import ReconcilerError

ENV_CA_FILES: Final = ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")  # the first one set wins
CA_HINT: Final = (
    "If your network inspects TLS with its own certificate authority, point SSL_CERT_FILE or REQUESTS_CA_BUNDLE "
    "(or an environment file's caBundle) at a PEM file holding it."
)


def ca_bundle_from(environ: Mapping[str, str], configured: str | None) -> str | None:
    """The CA bundle to trust: the configured one, else REQUESTS_CA_BUNDLE, else SSL_CERT_FILE."""
    if configured:
        return configured
    return next((environ[name] for name in ENV_CA_FILES if environ.get(name, "").strip()), None)


def trusting(bundle: str) -> ssl.SSLContext:
    try:
        if os.path.isdir(bundle):
            return ssl.create_default_context(capath=bundle)
        # Read by the one reader: a committed `caBundle: /dev/zero` or a FIFO would hold OpenSSL forever.
        return ssl.create_default_context(cadata=files.read_text(bundle, files.CA_BUNDLE))
    except files.FileError as exc:
        raise ReconcilerError(f"the CA bundle {bundle} cannot be read: {exc.reason}") from None
    except (OSError, ssl.SSLError) as exc:
        raise ReconcilerError(f"the CA bundle {bundle} cannot be read as PEM certificates ({exc})") from None


def speaks_tls(host: str, port: int, timeout: float) -> bool:
    """Whether the server completes a TLS handshake: asked only after a plain-http request failed, to tell
    the wrong scheme from a dropped connection. Trust does not matter here, only the protocol."""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    try:
        with (
            socket.create_connection((host, port), timeout=min(timeout, 5.0)) as raw,
            probe.wrap_socket(raw, server_hostname=host),
        ):
            return True
    except (OSError, ValueError):
        return False

"""The tool's own RSA key pair: made once, kept in the service's data folder (mode 0600, as the
secret key), its public half served as a JWKS at /lti/jwks.json. Platforms check the deep
linking responses and the grade passback's token requests with it."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

KEY_FILE = "lti_private_key.pem"


def _make_pem() -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def private_pem(data: Path) -> str:
    """The tool's private key (PEM), made at the first call."""
    path = Path(data) / KEY_FILE
    try:
        return path.read_text(encoding="ascii")
    except FileNotFoundError:
        pass
    pem = _make_pem()
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    try:
        os.link(tmp, path)  # another process of the service may have made one first: theirs stays
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
    return path.read_text(encoding="ascii")


def public_pem(private: str) -> str:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(private.encode("ascii"), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


@functools.lru_cache(maxsize=4)
def tool_keys(data: str) -> tuple[str, str]:
    """(private PEM, public PEM) of the service in `data`."""
    private = private_pem(Path(data))
    return private, public_pem(private)


def jwks(data: str) -> dict[str, Any]:
    """The public keyset platforms fetch ({"keys": [one RS256 key, kid = its thumbprint]})."""
    from pylti1p3.registration import Registration

    return {"keys": [dict(Registration.get_jwk(tool_keys(data)[1]))]}

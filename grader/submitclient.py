"""``grader submit``: send a project to a grading service and, with --wait, print its result.
Standard library only (urllib): a student's machine needs nothing more than the grader."""

from __future__ import annotations

import io
import json
import secrets
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

from grader import fstree
from grader.runner import COPY_IGNORE, SUBMISSION_LIMITS

USER_AGENT = "grader-submit"


class SubmitError(Exception):
    """The submission did not reach the service, or the service refused it (said why)."""


def pack_zip(folder: Path) -> bytes:
    """The project as a .zip of what grading reads (no .git, venvs or caches), within a
    submission's limits. Raises fstree.TreeLimit."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for entry in fstree.walk(Path(folder), COPY_IGNORE, fstree.Limits(**SUBMISSION_LIMITS)):
            if entry.kind == "file":
                zf.write(entry.path, entry.rel)
            elif entry.kind == "dir":
                zf.writestr(entry.rel.rstrip("/") + "/", b"")
    return buffer.getvalue()


def multipart(fields: dict[str, str], filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "grader-" + secrets.token_hex(16)
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    out.write(
        f'--{boundary}\r\nContent-Disposition: form-data; name="archive"; filename="{filename}"\r\n'
        "Content-Type: application/zip\r\n\r\n".encode()
    )
    out.write(data)
    out.write(f"\r\n--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def _request(url: str, token: str, body: bytes | None = None, content_type: str = "", timeout: float = 60) -> Any:
    headers = {"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT, "Accept": "application/json"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        try:
            why = json.loads(exc.read().decode("utf-8")).get("error", "")
        except (ValueError, AttributeError):
            why = ""
        raise SubmitError(f"the service refused it ({exc.code}): {why or exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SubmitError(f"cannot reach the grading service at {url}: {reason}") from None


def submit(base_url: str, folder: Path, assignment: str, token: str, commit: str = "") -> dict[str, Any]:
    """Send `folder` (a project, or a .zip of one); the service's answer (id, status, ...)."""
    folder = Path(folder)
    if folder.is_file():
        data, name = folder.read_bytes(), folder.name
    else:
        try:
            data = pack_zip(folder)
        except fstree.TreeLimit as exc:
            raise SubmitError(f"the project is too large to submit: {exc}") from None
        name = (folder.resolve().name or "project") + ".zip"
    fields = {"assignment": assignment}
    if commit:
        fields["commit"] = commit
    body, content_type = multipart(fields, name, data)
    return _request(base_url.rstrip("/") + "/api/submissions", token, body, content_type)


def wait(base_url: str, submission_id: int, token: str, timeout_s: float = 600, poll_s: float = 1.0) -> dict[str, Any]:
    """Poll until the submission is graded (or ended in an error); its result."""
    deadline = time.monotonic() + timeout_s
    url = f"{base_url.rstrip('/')}/api/submissions/{submission_id}"
    while True:
        result = _request(url, token)
        if result.get("status") in ("graded", "error"):
            return result
        if time.monotonic() > deadline:
            raise SubmitError(f"not graded after {timeout_s:g} s: see {base_url.rstrip('/')}{result.get('url', '')}")
        time.sleep(poll_s)


def write_classroom(result: dict[str, Any], path: Path) -> None:
    """The service's answer on a graded submission as GitHub Classroom's autograding JSON
    (renderers/classroom.py): the official score the service shows its student."""
    from grader.renderers import classroom, write_atomic

    write_atomic(Path(path), classroom.render_service(result))

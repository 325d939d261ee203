"""Who is submitting: a student's session (the web), a student's token (``grader submit``, a
CI secret) or a GitHub Actions OIDC identity (a CI job of the student's repository)."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass

from django.contrib.auth.backends import BaseBackend
from django.http import HttpRequest
from django.utils import timezone

from grader.service.models import Student, Token, token_digest

TOKEN_PREFIX = "gst_"


def new_token(student: Student, label: str = "") -> str:
    """Make a token for `student`: returned once, only its digest is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    Token.objects.create(student=student, digest=token_digest(token), prefix=token[:10], label=label)
    return token


def revoke(tokens) -> int:
    """Revoke `tokens` (a queryset of Token) and sign their students out of the web: a session
    opened with a token outlives it otherwise. A student's sessions hold a hash of their
    password, unusable (they sign in with tokens): a new unusable one ends all of them. (A user
    with a real password keeps the sessions they opened with it.) How many were revoked."""
    students = list(Student.objects.filter(tokens__in=tokens).select_related("user").distinct())
    n = tokens.update(revoked=True)
    for student in students:
        end_sessions(student)
    return n


def end_sessions(student: Student) -> None:
    user = student.user
    if not user.has_usable_password():
        user.set_unusable_password()
        user.save(update_fields=["password"])


def student_for_token(token: str) -> Student | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    found = Token.objects.select_related("student").filter(digest=token_digest(token), revoked=False).first()
    if found is None:
        return None
    Token.objects.filter(pk=found.pk).update(last_used=timezone.now())
    return found.student


class TokenBackend(BaseBackend):
    """The login form: a student's id and one of their tokens, in place of a password."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if not username or not password:
            return None
        student = student_for_token(password)
        if student is None or student.student_id != username or not student.user.is_active:
            return None
        return student.user

    def get_user(self, user_id):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(pk=user_id, is_active=True).first()


@dataclass(frozen=True)
class Caller:
    student: Student
    source: str  # "cli" (a token) or "ci" (an OIDC identity)
    commit: str = ""


class AuthError(Exception):
    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def api_caller(request: HttpRequest) -> Caller:
    """The student an API request is from (Authorization: Bearer TOKEN, a student's token or a
    GitHub Actions OIDC token). Raises AuthError."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise AuthError("send your token: Authorization: Bearer <token> (grader submit does it for you)")
    credential = credential.strip()
    if credential.startswith(TOKEN_PREFIX):
        student = student_for_token(credential)
        if student is None:
            raise AuthError("this token is unknown or revoked: ask your instructor for a new one")
        return Caller(student, "cli")
    if credential.count(".") == 2:
        return _oidc_caller(credential)
    raise AuthError("this is neither a grader token nor a GitHub Actions identity token")


@functools.lru_cache(maxsize=4)
def _jwks_client(url: str):
    import jwt

    return jwt.PyJWKClient(url, cache_keys=True, lifespan=600)


def _oidc_caller(token: str) -> Caller:
    import jwt
    from django.conf import settings

    cfg = settings.CONFIG
    if not cfg.oidc_audience:
        raise AuthError("this service does not accept GitHub Actions identities (its operator has not enabled them)")
    client = _jwks_client(cfg.oidc_jwks)
    try:
        client.get_signing_keys()  # the issuer's keys (cached): not getting them is the service's problem
    except (jwt.PyJWKClientError, jwt.PyJWKSetError) as exc:
        raise AuthError(f"the identity cannot be checked now ({exc}); try again", 503) from None
    try:
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=cfg.oidc_audience,
            issuer=cfg.oidc_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "repository"]},
            leeway=30,
        )
    except (jwt.PyJWKClientConnectionError, jwt.PyJWKSetError) as exc:  # refreshing them for a new key id failed
        raise AuthError(f"the identity cannot be checked now ({exc}); try again", 503) from None
    except jwt.PyJWKClientError as exc:  # no key of the issuer's has the token's key id: not signed by it
        raise AuthError(f"the GitHub Actions identity is not valid: {exc}") from None
    except jwt.InvalidTokenError as exc:
        raise AuthError(f"the GitHub Actions identity is not valid: {exc}") from None
    repository = str(claims.get("repository", ""))
    student = Student.objects.filter(repository__iexact=repository).first() if repository else None
    if student is None:
        raise AuthError(f"no student of this course has the repository {repository!r}", 403)
    return Caller(student, "ci", str(claims.get("sha", ""))[:64])

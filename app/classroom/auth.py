"""Who is asking: the instructor (bearer token, or a signed cookie after /login), a student of a class
(a signed cookie set on joining), or nobody. Cookies are signed with itsdangerous using the server's
secret key, so a student cannot forge another student's seat or the instructor's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app.config import Settings
from app.identity import INSTRUCTOR_OWNER, STUDENT_OWNER_PREFIX, Credentials
from app.limits.guard import TokenGuard

logger = logging.getLogger(__name__)

INSTRUCTOR_COOKIE = "ftlab_instructor"
STUDENT_COOKIE = "ftlab_student"
INSTRUCTOR_MAX_AGE_S = 7 * 24 * 3600
STUDENT_MAX_AGE_S = 30 * 24 * 3600


def persistent_secret(settings: Settings) -> str:
    """The cookie-signing key. A generated ``secret_key`` would change at every start and log every
    student out; so unless FTLAB_SECRET_KEY is set, one is generated once and kept in the data dir."""
    if "secret_key" in settings.model_fields_set:
        return settings.secret_key
    path: Path = settings.data_dir / "secret_key"
    try:
        return path.read_text().strip() or _write_secret(path)
    except FileNotFoundError:
        return _write_secret(path)


def _write_secret(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    logger.info("generated a cookie-signing key in %s", path)
    return key


class NotInstructor(PermissionError):
    """Refused: this needs the instructor. ``credentials_missing``: nothing was sent to check (the
    API answers 401 with a Bearer challenge); otherwise what was sent is wrong or not enough (403)."""

    def __init__(self, message: str, credentials_missing: bool = False) -> None:
        super().__init__(message)
        self.credentials_missing = credentials_missing


@dataclass(frozen=True)
class StudentSeat:
    class_code: str
    member_id: str

    @property
    def owner(self) -> str:
        return STUDENT_OWNER_PREFIX + self.member_id


class ClassroomAuth:
    """Checks the instructor token and makes and reads the signed cookies."""

    def __init__(self, instructor_token: str, secret_key: str, guard: TokenGuard | None = None) -> None:
        self._token = instructor_token
        self.guard = guard  # throttles wrong tokens (None: unthrottled, for unit tests)
        self._serializer = URLSafeTimedSerializer(secret_key, salt="ftlab.classroom")
        # The instructor cookie carries a digest of the token: a new token logs old cookies out.
        self._token_digest = hashlib.sha256(instructor_token.encode()).hexdigest()[:32]

    # -- the instructor -----------------------------------------------------------------------
    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self._token.encode())

    def instructor_cookie(self) -> str:
        return self._serializer.dumps({"t": self._token_digest}, salt="instructor")

    def _instructor_cookie_valid(self, value: str) -> bool:
        try:
            data = self._serializer.loads(value, salt="instructor", max_age=INSTRUCTOR_MAX_AGE_S)
        except BadSignature:
            return False
        return isinstance(data, dict) and hmac.compare_digest(str(data.get("t", "")), self._token_digest)

    def instructor_status(self, who: Credentials) -> str:
        """'ok', 'missing' (no credentials: 401) or 'wrong' (credentials that do not match: 403).
        A wrong bearer token or a forged cookie counts as a guess (once per request: the result is
        kept on ``who``); past the allowance this raises ``Throttled`` (429), see app.limits.guard."""
        if "status" not in who.memo:
            status, guessed = self._check_credentials(who)
            who.memo["status"] = status
            if guessed:
                self.wrong_guess(who)
        return who.memo["status"]

    def wrong_guess(self, who: Credentials) -> None:
        if self.guard is not None:
            self.guard.wrong_guess(who.address or "unknown")

    def _check_credentials(self, who: Credentials) -> tuple[str, bool]:
        """(status, whether this was a guess). An expired or outdated instructor cookie is wrong
        but no guess: its signature is ours."""
        header = who.authorization
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and self.token_matches(token.strip()):
                return "ok", False
            return "wrong", True
        cookie = who.instructor_cookie
        if cookie is not None:
            if self._instructor_cookie_valid(cookie):
                return "ok", False
            return "wrong", not self._signed_by_us(cookie)
        return "missing", False

    def _signed_by_us(self, value: str) -> bool:
        try:
            self._serializer.loads(value, salt="instructor")
        except SignatureExpired:  # ours, just old
            return True
        except BadSignature:
            return False
        return True

    def is_instructor(self, who: Credentials) -> bool:
        return self.instructor_status(who) == "ok"

    def require_instructor(self, who: Credentials) -> None:
        """Raises NotInstructor unless ``who`` is the instructor."""
        status = self.instructor_status(who)
        if status == "ok":
            return
        if status == "wrong":
            raise NotInstructor("the instructor token is wrong (or the login has expired)")
        if self.student_seat(who) is not None:
            raise NotInstructor("this needs the instructor; a student seat is not enough")
        raise NotInstructor(
            "this needs the instructor token: 'Authorization: Bearer <token>' or log in at /login",
            credentials_missing=True,
        )

    # -- students -----------------------------------------------------------------------------
    def student_cookie(self, seat: StudentSeat) -> str:
        return self._serializer.dumps({"c": seat.class_code, "m": seat.member_id}, salt="student")

    def student_seat(self, who: Credentials) -> StudentSeat | None:
        value = who.student_cookie
        if not value:
            return None
        try:
            data = self._serializer.loads(value, salt="student", max_age=STUDENT_MAX_AGE_S)
        except BadSignature:
            return None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("c"), str)
            or not isinstance(data.get("m"), str)
        ):
            return None
        return StudentSeat(data["c"], data["m"])

    # -- job owners (the runner queues fairly between them) -----------------------------------
    def owner_of(self, who: Credentials) -> str | None:
        """A bearer token names the instructor; otherwise a student seat wins over an instructor
        cookie (an instructor trying the student view in the same browser is a student there)."""
        if who.authorization and self.is_instructor(who):
            return INSTRUCTOR_OWNER
        seat = self.student_seat(who)
        if seat is not None:
            return seat.owner
        return INSTRUCTOR_OWNER if self.is_instructor(who) else None

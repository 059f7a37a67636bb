"""API keys: which callers may call, and which may change state.

A `KeyRing` holds the keys of the settings (`--api-key`, `--read-only-api-key`) and of
the key file (`--api-key-file`, re-read by `reload()` on SIGHUP). `AuthInterceptor`
checks the `authorization: Bearer <key>` metadata of every call except health's, which
stays open for orchestrators. With no key configured at all, every call is let through.

Keys are kept only as SHA-256 digests and compared in constant time: a caller's key is
hashed, then compared with every known digest (`hmac.compare_digest`, no early exit), so
the time of a refusal says nothing about how close a guess was, nor about the keys'
lengths. No key is ever logged or put in an error message.

Key file, one key a line:

    # comments and blank lines are ignored
    3f1c0d9e8b7a...            a read-write key
    read-only 9a8b7c6d5e...    a read-only key
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import stat
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import grpc

from latentd.api.errors import refused
from latentd.core.errors import LatentError, PermissionDenied, Unauthenticated

log = logging.getLogger(__name__)

READ_ONLY_MARK = "read-only"
HEADER = "authorization"
SCHEME = "bearer"
OPEN_PREFIX = "/grpc.health.v1.Health/"  # health answers anyone: orchestrators probe it
SHORT_KEY_CHARS = 16

# Every latent.v1 method is in one of these two sets (tests/api/test_auth.py checks it).
# A read-only key may call the reads and every method outside latent.v1 (reflection); a
# latent.v1 method in neither set is treated as a write until it is listed.
WRITES = frozenset(
    {
        "/latent.v1.Collections/CreateCollection",
        "/latent.v1.Collections/DeleteCollection",
        "/latent.v1.Collections/Upsert",
        "/latent.v1.Collections/Delete",
        "/latent.v1.Directions/Save",
        "/latent.v1.Directions/Delete",
    }
)
READS = frozenset(
    {
        "/latent.v1.Models/ListModels",
        "/latent.v1.Embeddings/Encode",
        "/latent.v1.Arithmetic/Analogy",
        "/latent.v1.Arithmetic/BatchAnalogy",
        "/latent.v1.Arithmetic/Nearest",
        "/latent.v1.Arithmetic/BatchNearest",
        "/latent.v1.Arithmetic/Interpolate",
        "/latent.v1.Arithmetic/Similarity",
        "/latent.v1.Arithmetic/DoesntMatch",
        "/latent.v1.Collections/GetCollection",
        "/latent.v1.Collections/ListCollections",
        "/latent.v1.Collections/Get",
        "/latent.v1.Collections/Count",
        "/latent.v1.Collections/Scroll",
        "/latent.v1.Collections/Search",
        "/latent.v1.Collections/BatchSearch",
        "/latent.v1.Directions/Define",
        "/latent.v1.Directions/List",
        "/latent.v1.Directions/Project",
        "/latent.v1.Directions/Navigate",
        "/latent.v1.Directions/Associate",
        "/latent.v1.Directions/Components",
    }
)

HOW_TO_SEND = "as the metadata 'authorization: Bearer <key>' (latent: --api-key or LATENT_API_KEY)"
NO_KEY = f"this server needs an API key: send one {HOW_TO_SEND}"
BAD_HEADER = f"the authorization metadata is not 'Bearer <key>': send the key {HOW_TO_SEND}"
WRONG_KEY = f"the API key is not valid on this server: send a valid key {HOW_TO_SEND}"


class Access(enum.Enum):
    READ_WRITE = "read-write"
    READ_ONLY = "read-only"


class UnusableKeys(OSError):
    """The configured keys cannot be used; the message names the setting (and the file
    and line), never a key."""


def is_write(method: str) -> bool:
    """Whether `method` ("/package.Service/Method") needs a read-write key."""
    return method.startswith("/latent.v1.") and method not in READS


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def _usable(key: str) -> bool:
    # A metadata value is printable ASCII; spaces would make the file ambiguous.
    return bool(key) and all("!" <= c <= "~" for c in key)


def read_key_file(path: Path) -> list[tuple[str, Access, str]]:
    """(key, access, where) for each key line of the file. UnusableKeys names the file
    and the line of a bad line, never its content."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnusableKeys(f"api_key_file: cannot read {path}: {exc.strerror or exc}") from None
    found = []
    for number, raw in enumerate(data.splitlines(), start=1):
        where = f"api_key_file {path} line {number}"
        try:
            line = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise UnusableKeys(f"{where}: a key is printable ASCII without spaces") from None
        if not line or line.startswith("#"):
            continue
        words = line.split()
        if len(words) == 1 and words[0] != READ_ONLY_MARK:
            key, access = words[0], Access.READ_WRITE
        elif len(words) == 2 and words[0] == READ_ONLY_MARK:
            key, access = words[1], Access.READ_ONLY
        else:
            raise UnusableKeys(f"{where}: expected KEY or '{READ_ONLY_MARK} KEY'")
        if not _usable(key):
            raise UnusableKeys(f"{where}: a key is printable ASCII without spaces")
        found.append((key, access, where))
    return found


class KeyRing:
    """The API keys a server accepts, as digests; safe to read from any thread while
    `reload` replaces them."""

    def __init__(
        self,
        keys: Sequence[str] = (),
        read_only_keys: Sequence[str] = (),
        key_file: Path | None = None,
    ) -> None:
        """Raises UnusableKeys for a bad key, a bad or unreadable file, or a key given
        as both read-write and read-only."""
        self.key_file = key_file
        self._given = [(k, Access.READ_WRITE, "api_keys") for k in keys] + [
            (k, Access.READ_ONLY, "read_only_api_keys") for k in read_only_keys
        ]
        for key, _, where in self._given:
            if not _usable(key):
                raise UnusableKeys(f"{where}: a key is printable ASCII without spaces")
        self._reloads = 0
        self._keys = self._load()

    @property
    def enabled(self) -> bool:
        """Whether calls need a key. A key file counts even while it holds no key: an
        emptied file locks the server rather than opening it."""
        return bool(self._given) or self.key_file is not None

    def counts(self) -> dict[Access, int]:
        keys = self._keys
        return {access: sum(1 for _, a in keys if a is access) for access in Access}

    def describe(self) -> str:
        """What the keys are, in counts only, for the log."""
        counts = self.counts()
        text = (
            f"{counts[Access.READ_WRITE]} read-write and {counts[Access.READ_ONLY]} "
            "read-only API keys"
        )
        if self.key_file is not None:
            text += f" (api_key_file {self.key_file}, re-read on SIGHUP)"
        return text

    def access(self, key: str) -> Access | None:
        """What `key` may do; None when it is not a known key. Constant time in the key:
        every digest is compared, whatever matched before."""
        presented = _digest(key)
        found: Access | None = None
        for known, access in self._keys:
            if hmac.compare_digest(presented, known):
                found = access
        return found

    def reload(self) -> bool:
        """Re-read the key file. A file that cannot be used keeps the keys in use and logs
        a warning; True when the new keys are in use.

        Called by the SIGHUP handler on the main thread, so a second SIGHUP can run a
        reload inside this one (no lock: it would deadlock); the later reload read the
        file later, and its keys win."""
        if self.key_file is None:
            log.info("api keys: no api_key_file to re-read")
            return False
        self._reloads += 1
        this_reload = self._reloads
        try:
            keys = self._load()
        except UnusableKeys as exc:
            log.warning("api keys: %s; keeping the %d keys in use", exc, len(self._keys))
            return False
        if this_reload != self._reloads:
            return False  # a later reload has taken its own read of the file
        self._keys = keys  # one assignment: a call sees the old keys or the new ones
        log.info("api keys: re-read: %s", self.describe())
        return True

    def _load(self) -> tuple[tuple[bytes, Access], ...]:
        entries = list(self._given)
        if self.key_file is not None:
            entries += read_key_file(self.key_file)
            _warn_if_readable_by_others(self.key_file)
        known: dict[bytes, tuple[Access, str]] = {}
        for key, access, where in entries:
            digest = _digest(key)
            before = known.setdefault(digest, (access, where))
            if before[0] is not access:
                raise UnusableKeys(
                    f"{where}: a key given as {before[0].value} in {before[1]} is given as "
                    f"{access.value} here; give each key once"
                )
        short = sum(1 for key, _, _ in entries if len(key) < SHORT_KEY_CHARS)
        if short:
            log.warning(
                "api keys: %d keys are shorter than %d characters; use long random keys "
                "(e.g. openssl rand -hex 32)",
                short,
                SHORT_KEY_CHARS,
            )
        if not known and self.key_file is not None:
            log.warning(
                "api keys: %s holds no key: every call but health's is refused", self.key_file
            )
        return tuple((digest, access) for digest, (access, _) in known.items())


def _warn_if_readable_by_others(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & stat.S_IROTH:
        log.warning(
            "api keys: %s is readable by every user (mode %o); chmod 600 it",
            path,
            stat.S_IMODE(mode),
        )


def presented_key(metadata: Iterable[tuple[str, str | bytes]] | None) -> str | None:
    """The key of the first `authorization: Bearer <key>` entry; "" for an authorization
    entry of another form, None without one."""
    for name, value in metadata or ():
        if name != HEADER:
            continue
        text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
        scheme, _, key = text.strip().partition(" ")
        return key.strip() if scheme.lower() == SCHEME else ""
    return None


def refusal(keys: KeyRing, method: str, key: str | None) -> LatentError | None:
    """Why a call of `method` with `key` is refused, or None when it may go on."""
    if not keys.enabled:
        return None
    if key is None:
        return Unauthenticated(NO_KEY)
    if not key:
        return Unauthenticated(BAD_HEADER)
    access = keys.access(key)
    if access is None:
        return Unauthenticated(WRONG_KEY)
    if access is Access.READ_ONLY and is_write(method):
        service, _, name = method.strip("/").partition("/")
        return PermissionDenied(
            f"{name} ({service}) changes state and this API key is read-only; use a read-write key"
        )
    return None


Continuation = Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None]


class AuthInterceptor(grpc.ServerInterceptor):
    """Every method but health's: a call without an accepted key is UNAUTHENTICATED, a
    read-only key on a write is PERMISSION_DENIED; the refusal happens before the request
    is even parsed."""

    def __init__(self, keys: KeyRing) -> None:
        self._keys = keys

    def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(OPEN_PREFIX):
            return handler
        key = presented_key(handler_call_details.invocation_metadata)
        problem = refusal(self._keys, method, key)
        if problem is None:
            return handler
        log.debug("refused %s: %s", method, type(problem).__name__)
        return refused(handler, problem)

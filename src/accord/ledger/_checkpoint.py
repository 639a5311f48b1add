"""Signed checkpoints: the ledger anchored outside its database.

A checkpoint is the set of chain heads (chain → position and hash) at one consistent moment,
their SHA-256 root and the entry count, signed with an Ed25519 key the database never holds.
Because every entry's hash covers the one before it, a head fixes its whole chain up to that
position: a later ledger is a consistent extension of the checkpoint exactly when every
checkpointed chain still has an entry at the checkpointed position with the checkpointed hash,
and the chains themselves still verify. What it can and cannot catch is in docs/ledger.md.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from accord._errors import InvalidInput
from accord.ledger import canonical

FORMAT = "accord-ledger-checkpoint/1"
log = logging.getLogger("accord.checkpoint")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """One signed checkpoint. ``heads`` maps each chain to (position, hash of that entry)."""

    at: str
    size: int
    heads: dict[str, tuple[int, str]]
    root: str
    key_id: str
    signature: str

    def statement(self) -> bytes:
        """The bytes signed: format, time, size, root and key id (the heads via the root)."""
        return canonical({"format": FORMAT, "at": self.at, "size": self.size, "root": self.root,
                          "key_id": self.key_id})

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "at": self.at, "size": self.size,
                           "root": self.root, "key_id": self.key_id,
                           "signature": self.signature,
                           "heads": {c: list(h) for c, h in sorted(self.heads.items())}},
                          indent=1)

    @classmethod
    def from_json(cls, text: str | bytes, *, where: str = "checkpoint") -> Checkpoint:
        hint = "pass a file written by `accord ledger checkpoint`"
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"the checkpoint is not JSON: {exc}", where=where,
                               hint=hint) from None
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            raise InvalidInput(f"the checkpoint is not in format {FORMAT}", where=where,
                               hint=hint)
        try:
            heads = {str(c): (int(h[0]), str(h[1])) for c, h in raw["heads"].items()}
            return cls(at=str(raw["at"]), size=int(raw["size"]), heads=heads,
                       root=str(raw["root"]), key_id=str(raw["key_id"]),
                       signature=str(raw["signature"]))
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise InvalidInput(f"the checkpoint is malformed ({type(exc).__name__}: {exc})",
                               where=where, hint=hint) from None


def root_of(heads: dict[str, tuple[int, str]]) -> str:
    """SHA-256 over the heads, sorted by chain, as canonical JSON."""
    return hashlib.sha256(canonical(sorted([c, s, h] for c, (s, h) in heads.items()))).hexdigest()


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def new_key() -> tuple[bytes, bytes]:
    """A fresh Ed25519 key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def private_key(pem: bytes, *, where: str = "key") -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not an unencrypted PEM private key ({exc})", where=where,
                           hint="create one with `accord ledger keygen`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("the key is not an Ed25519 key", where=where,
                           hint="create one with `accord ledger keygen`")
    return key


def public_key(pem: bytes, *, where: str = "key") -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (a private key's PEM gives its public half)."""
    if b"PRIVATE KEY" in pem:
        return private_key(pem, where=where).public_key()
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"not a PEM public key ({exc})", where=where,
                           hint="pass the .pub file `accord ledger keygen` wrote") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("the key is not an Ed25519 key", where=where,
                           hint="pass the .pub file `accord ledger keygen` wrote")
    return key


def sign(heads: dict[str, tuple[int, str]], key: Ed25519PrivateKey,
         at: datetime | None = None) -> Checkpoint:
    when = (at or datetime.now(UTC)).isoformat(timespec="seconds")
    unsigned = Checkpoint(at=when, size=sum(s for s, _ in heads.values()), heads=dict(heads),
                          root=root_of(heads), key_id=key_id(key.public_key()), signature="")
    signature = base64.b64encode(key.sign(unsigned.statement())).decode()
    return Checkpoint(at=unsigned.at, size=unsigned.size, heads=unsigned.heads,
                      root=unsigned.root, key_id=unsigned.key_id, signature=signature)


def signature_problems(cp: Checkpoint, key: Ed25519PublicKey) -> list[str]:
    """Why ``cp`` cannot be trusted under ``key``; empty when it can."""
    if cp.key_id != key_id(key):
        return [f"checkpoint: signed by key {cp.key_id}, not by the given key {key_id(key)}"]
    try:
        key.verify(base64.b64decode(cp.signature, validate=True), cp.statement())
    except (InvalidSignature, ValueError):
        return ["checkpoint: its signature does not verify with the given key (the checkpoint "
                "was forged or edited)"]
    if root_of(cp.heads) != cp.root or sum(s for s, _ in cp.heads.values()) != cp.size:
        return ["checkpoint: its chain heads do not match its signed root and size (the file "
                "was edited)"]
    return []


def extension_problems(cp: Checkpoint, found: dict[str, str], ends: dict[str, int]) -> list[str]:
    """Compare the ledger with a trusted checkpoint. ``found`` holds, for each checkpointed
    chain, the hash of the ledger's entry at the checkpointed position; ``ends`` each chain's
    last position in the ledger."""
    problems: list[str] = []
    for chain, (seq, digest) in sorted(cp.heads.items()):
        have = found.get(chain)
        if have is None:
            problems.append(
                f"chain {chain}: the checkpoint of {cp.at} holds entry {seq} but the ledger "
                f"ends at {ends.get(chain, 0)} (the chain was truncated, its tail deleted with "
                "its head)")
        elif have != digest:
            problems.append(
                f"chain {chain}: entry {seq} differs from the checkpoint of {cp.at} (the chain "
                "was rewritten, reordered, or an entry forged or altered at or before it)")
    return problems


def describe(cp: Checkpoint) -> dict[str, Any]:
    return {"at": cp.at, "size": cp.size, "chains": len(cp.heads), "root": cp.root,
            "key_id": cp.key_id}


class Scheduled:
    """Writes a signed checkpoint into ``directory`` at start and then every ``every``
    seconds, on a daemon thread, until ``stop()``. Each file is named by its time and key and
    written whole (temporary file, then rename), so a reader never sees half of one. A failure
    (the store down, a ledger that does not verify) is logged and retried next time."""

    def __init__(self, acc: Any, key: Ed25519PrivateKey, directory: str | Path,
                 every: float, *, close: bool = False) -> None:
        self._acc, self._key, self._every, self._close = acc, key, every, close
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="accord-checkpoints",
                                        daemon=True)
        self.written: list[Path] = []

    def start(self) -> Scheduled:
        self._thread.start()
        return self

    def write(self) -> Path:
        cp = self._acc.checkpoint(self._key)
        stamp = cp.at.replace(":", "").replace("+0000", "Z")
        path = self.directory / f"checkpoint-{stamp}-{cp.key_id[:8]}-{cp.root[:8]}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(cp.to_json())
        os.replace(tmp, path)
        self.written.append(path)
        return path

    def _run(self) -> None:
        while True:
            try:
                self.write()
            except Exception as exc:  # keep serving; the next round retries
                log.error("ledger checkpoint failed: %s", exc)
            if self._stop.wait(self._every):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._close:
            self._acc.close()

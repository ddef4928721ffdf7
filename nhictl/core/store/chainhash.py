"""The audit chain's link hash, computed by the store inside the INSERT that appends an event.

An event's hash is SHA-256 over the compact JSON array
``[seq, at, actor, action, subject, outcome, details_json, prev_hash]`` (UTF-8). A writer knows
every field but ``seq`` and ``prev_hash`` before it holds the write lock, so it sends ``body``,
the JSON of the six middle fields without the brackets, and the INSERT reads the head and calls
``nhictl_chain_hash(seq, body, prev_hash)``: no round trip to read the head while the lock is held
(on PostgreSQL each one is a wait every other writer queues behind).

``seq`` is an integer and ``prev_hash`` a hex digest the store wrote itself, so neither needs
JSON escaping: the text hashed is byte for byte what ``json.dumps`` makes of the array.
"""

from __future__ import annotations

import hashlib

CHAIN_HASH_FUNCTION = "nhictl_chain_hash"

#: The same function in PostgreSQL (``sha256`` is built in from PostgreSQL 11). STABLE, as
#: ``convert_to`` is: a function declared stricter than its body is never inlined, and the
#: inlined expression costs nothing next to a separately executed function.
POSTGRES_CHAIN_HASH_DDL = (
    f"CREATE OR REPLACE FUNCTION {CHAIN_HASH_FUNCTION}(seq BIGINT, body TEXT, prev TEXT) "
    "RETURNS TEXT LANGUAGE sql STABLE STRICT PARALLEL SAFE AS "
    "$fn$ SELECT encode(sha256(convert_to('[' || seq::text || ',' || body || ',\"' || prev "
    "|| '\"]', 'UTF8')), 'hex') $fn$"
)


def chain_hash(seq: int, body: str, prev_hash: str) -> str:
    """The hash of event ``seq`` (SQLite calls this as ``nhictl_chain_hash``)."""
    return hashlib.sha256(f'[{seq},{body},"{prev_hash}"]'.encode()).hexdigest()

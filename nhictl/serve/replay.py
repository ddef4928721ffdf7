"""Client assertions accepted once: the core's replay cache (shared with DPoP proofs)."""

from nhictl.core.replaycache import accept_once, replay_key

__all__ = ["accept_once", "replay_key"]

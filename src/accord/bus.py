"""Moved to ``accord.store.bus``; this name stays until every import uses the new one."""

from accord.store.bus import MAX_STREAMS_PER_OWNER, Bus, Message, Subscription, TooManyStreams

__all__ = ["MAX_STREAMS_PER_OWNER", "Bus", "Message", "Subscription", "TooManyStreams"]

"""The Redis channel layer of the signaling processes: channels_redis's pub/sub layer, with
messages between consumers of the same process handed over in the process (ADR 20).

Why: a video room's signals go from one participant's socket to another's. With the proxy
sending every socket of a room to the same process (docs/deploy), both ends live in one process
and a trip to Redis and back only adds latency and CPU; when they do not (no affinity, a
process restarted, a call transferred), the message goes through Redis as before.

What stays true, as for the plain pub/sub layer:
- from one sender to one receiver, messages arrive in the order they were sent: a pair of
  consumers in one process always uses the in-process path, a pair in two processes always goes
  through Redis (one publishing connection, one subscribing connection per process, in order);
- a group message reaches every member once: the members in this process get it at once, and the
  copy that comes back from Redis is skipped for them (each process marks what it publishes);
- receivers get a copy (the message is serialised either way), never the sender's object.

What is added: a receiver in this process with `capacity` messages not yet read makes `send`
raise `ChannelFull` (the plain pub/sub layer has no bound), and a message arriving from Redis for
such a receiver is dropped and logged. Messages are at most once, as with every channels_redis
layer: a Redis outage loses what was in flight, and the clients resume (docs/signaling.md).
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from channels.exceptions import ChannelFull
from channels_redis.pubsub import (
    RedisPubSubChannelLayer,
    RedisPubSubLoopLayer,
    RedisSingleShardConnection,
)
from channels_redis.utils import _wrap_close

logger = logging.getLogger(__name__)

ORIGIN_BYTES = 16


class LocalFirstPubSubChannelLayer(RedisPubSubChannelLayer):
    """Configure as channels_redis's pub/sub layer; `capacity` (default 100) bounds each
    in-process receiver's queue."""

    def __init__(self, *args: Any, capacity: int = 100, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.capacity = capacity

    async def ping(self) -> bool:
        """Whether every Redis of the layer answers (for /readyz)."""
        for shard in self._get_layer()._shards:
            shard._ensure_redis()
            await shard._redis.ping()
        return True

    def _get_layer(self) -> _LoopLayer:
        loop = asyncio.get_running_loop()
        try:
            return self._layers[loop]
        except KeyError:
            layer = _LoopLayer(*self._args, **self._kwargs, channel_layer=self)
            self._layers[loop] = layer
            _wrap_close(self, loop)
            return layer


class _LoopLayer(RedisPubSubLoopLayer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.origin = os.urandom(ORIGIN_BYTES)
        self.capacity: int = self.channel_layer.capacity
        self._shards: list[_Shard] = [_Shard(shard.host, self) for shard in self._shards]

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        data = self.channel_layer.serialize(message)
        queue = self.channels.get(channel)
        if queue is not None:
            if queue.qsize() >= self.capacity:
                raise ChannelFull(channel)
            queue.put_nowait(data)
            return
        await self._get_shard(channel).publish(channel, self.origin + data)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        group_channel = self._get_group_channel_name(group)
        data = self.channel_layer.serialize(message)
        for name in self.groups.get(group_channel, ()):
            self.deliver(name, data)
        await self._get_shard(group_channel).publish(group_channel, self.origin + data)

    def deliver(self, name: str, data: bytes) -> None:
        """Into a receiver's queue, unless it is full (a group member or a message from
        another process: nobody to tell but the log)."""
        queue = self.channels.get(name)
        if queue is None:
            return
        if queue.qsize() >= self.capacity:
            logger.warning("dropped a message for %s: %d not yet read", name, queue.qsize())
            return
        queue.put_nowait(data)


class _Shard(RedisSingleShardConnection):
    channel_layer: _LoopLayer

    def _receive_message(self, message: dict[str, Any] | None) -> None:
        if message is None:
            return
        name, raw = message["channel"], message["data"]
        if isinstance(name, bytes):
            name = name.decode()
        layer = self.channel_layer
        mine, data = raw[:ORIGIN_BYTES] == layer.origin, raw[ORIGIN_BYTES:]
        if name in layer.channels:
            layer.deliver(name, data)
        elif name in layer.groups and not mine:
            for member in layer.groups[name]:
                layer.deliver(member, data)

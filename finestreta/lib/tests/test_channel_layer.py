"""The Redis channel layer (ADR 20) against a real Redis: two layer objects stand for two server
processes (each has its own origin, its own subscriptions and its own Redis connections)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from channels.exceptions import ChannelFull

from finestreta.lib.channel_layer import LocalFirstPubSubChannelLayer

WAIT = 5.0


def layer(url: str, **config: Any) -> LocalFirstPubSubChannelLayer:
    prefix = f"test-layer-{uuid.uuid4().hex[:8]}."  # apart from every other test's messages
    return LocalFirstPubSubChannelLayer(hosts=[url], prefix=config.pop("prefix", prefix), **config)


async def receive(layer: LocalFirstPubSubChannelLayer, channel: str) -> dict[str, Any]:
    return await asyncio.wait_for(layer.receive(channel), WAIT)  # type: ignore[no-any-return]


async def nothing_for(layer: LocalFirstPubSubChannelLayer, channel: str) -> bool:
    try:
        await asyncio.wait_for(layer.receive(channel), 0.3)
    except TimeoutError:
        return True
    return False


async def close(*layers: LocalFirstPubSubChannelLayer) -> None:
    for item in layers:
        await item.flush()


def test_a_local_message_is_handed_over_without_redis(redis_url: str) -> None:
    async def scenario() -> None:
        process = layer(redis_url)
        receiver = await process.new_channel()  # subscribes through Redis
        inner = process._get_layer()
        shard = inner._shards[0]
        published: list[str] = []
        original = shard.publish

        async def counting(channel: str, data: bytes) -> None:
            published.append(channel)
            await original(channel, data)

        shard.publish = counting
        for n in range(50):
            await process.send(receiver, {"type": "x", "n": n})
        got = [await receive(process, receiver) for _ in range(50)]
        assert [m["n"] for m in got] == list(range(50))
        assert published == []
        await close(process)

    asyncio.run(scenario())


def test_messages_to_another_process_go_through_redis_in_order(redis_url: str) -> None:
    async def scenario() -> None:
        one = layer(redis_url)
        two = layer(redis_url, prefix=one._kwargs["prefix"], capacity=1000)
        receiver = await two.new_channel()
        for n in range(200):
            await one.send(receiver, {"type": "x", "n": n})
        assert [(await receive(two, receiver))["n"] for _ in range(200)] == list(range(200))
        await close(one, two)

    asyncio.run(scenario())


def test_a_group_message_reaches_every_member_in_both_processes_exactly_once(
    redis_url: str,
) -> None:
    async def scenario() -> None:
        one = layer(redis_url)
        two = layer(redis_url, prefix=one._kwargs["prefix"])
        here, there = await one.new_channel(), await two.new_channel()
        await one.group_add("room", here)
        await two.group_add("room", there)
        await one.group_send("room", {"type": "x", "from": "one"})
        await two.group_send("room", {"type": "x", "from": "two"})
        assert {(await receive(one, here))["from"] for _ in range(2)} == {"one", "two"}
        assert {(await receive(two, there))["from"] for _ in range(2)} == {"one", "two"}
        assert await nothing_for(one, here)
        assert await nothing_for(two, there)
        await close(one, two)

    asyncio.run(scenario())


def test_two_deployments_with_different_prefixes_do_not_hear_each_other(redis_url: str) -> None:
    async def scenario() -> None:
        ours, theirs = layer(redis_url), layer(redis_url)
        member = await ours.new_channel()
        await ours.group_add("video-1-in", member)
        other = await theirs.new_channel()
        await theirs.group_add("video-1-in", other)
        await theirs.group_send("video-1-in", {"type": "x"})
        await receive(theirs, other)
        assert await nothing_for(ours, member)
        await close(ours, theirs)

    asyncio.run(scenario())


def test_a_local_receiver_that_is_not_reading_makes_send_raise_channel_full(
    redis_url: str,
) -> None:
    async def scenario() -> None:
        process = layer(redis_url, capacity=3)
        receiver = await process.new_channel()
        for n in range(3):
            await process.send(receiver, {"type": "x", "n": n})
        with pytest.raises(ChannelFull):
            await process.send(receiver, {"type": "x", "n": 3})
        assert (await receive(process, receiver))["n"] == 0
        await process.send(receiver, {"type": "x", "n": 4})  # room again
        await close(process)

    asyncio.run(scenario())


def test_a_message_from_another_process_for_a_full_receiver_is_dropped_and_logged(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        one = layer(redis_url)
        two = layer(redis_url, prefix=one._kwargs["prefix"], capacity=2)
        receiver = await two.new_channel()
        for n in range(3):
            await one.send(receiver, {"type": "x", "n": n})
        assert [(await receive(two, receiver))["n"] for _ in range(2)] == [0, 1]
        assert await nothing_for(two, receiver)
        await close(one, two)

    asyncio.run(scenario())
    assert "dropped a message" in caplog.text

"""The official OpenAI SDK through the gateway to an OpenAI upstream (same API).

Every reply is compared with what the same SDK call gets from the mock directly.
"""

from __future__ import annotations

import json

import pytest

from helpers import (GPT_MODEL, KEY, WEATHER_TOOL_OPENAI, AssembledStream, header, only_call,
                     openai_client, openai_without_ids, user)

HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te",
              "upgrade", "proxy-connection", "accept-encoding"}
WITH_USAGE = pytest.mark.parametrize("include_usage", [False, True],
                                     ids=["without_usage", "with_include_usage"])


def create(base_url: str, prompt: str, **kw):
    return openai_client(base_url).chat.completions.create(
        model=GPT_MODEL, messages=user(prompt), **kw)


def stream(base_url: str, prompt: str, include_usage: bool, **kw) -> AssembledStream:
    if include_usage:
        kw["stream_options"] = {"include_usage": True}
    return AssembledStream(openai_client(base_url).chat.completions.create(
        model=GPT_MODEL, messages=user(prompt), stream=True, **kw))


def check_usage_chunks(assembled: AssembledStream, include_usage: bool) -> None:
    if include_usage:
        assert len(assembled.usage_chunks) == 1, "include_usage asks for one usage chunk"
        assert assembled.usage_chunks[0] is assembled.chunks[-1], "usage chunk must be last"
        assert assembled.chunks[-1].choices == []
    else:
        assert assembled.usage_chunks == [], "usage sent though include_usage was not asked"


def test_create_returns_the_upstream_text_reply_unchanged(gateway_url, mock_url, mock):
    via_gateway = create(gateway_url, "Say hello")
    direct = create(mock_url, "Say hello")

    assert via_gateway.choices[0].message.content == \
        "Hello from the Luthien mock upstream. You said: Say hello"
    assert openai_without_ids(via_gateway) == openai_without_ids(direct)


@WITH_USAGE
def test_stream_text_assembles_to_the_upstream_reply(gateway_url, mock_url, mock, include_usage):
    via_gateway = stream(gateway_url, "mock:deltas 20", include_usage)
    direct = stream(mock_url, "mock:deltas 20", include_usage)

    assert via_gateway.essentials() == {"text": "".join(f"w{i} " for i in range(20)),
                                        "tools": [], "stop": "stop"}
    assert via_gateway.essentials() == direct.essentials()
    check_usage_chunks(via_gateway, include_usage)
    if include_usage:
        assert via_gateway.chunks[-1].usage == direct.chunks[-1].usage


def test_three_tool_calls_non_streaming_equal_the_upstream_reply(gateway_url, mock_url, mock):
    via_gateway = create(gateway_url, "mock:tools 3", tools=[WEATHER_TOOL_OPENAI])
    direct = create(mock_url, "mock:tools 3", tools=[WEATHER_TOOL_OPENAI])

    calls = via_gateway.choices[0].message.tool_calls
    assert [(c.function.name, json.loads(c.function.arguments)) for c in calls] == [
        ("get_weather", {"city": f"City{i}", "unit": "celsius"}) for i in range(3)]
    assert len({c.id for c in calls}) == 3
    assert via_gateway.choices[0].finish_reason == "tool_calls"
    assert openai_without_ids(via_gateway) == openai_without_ids(direct)


@WITH_USAGE
def test_three_tool_calls_streaming_assemble_to_the_upstream_reply(gateway_url, mock_url, mock,
                                                                   include_usage):
    via_gateway = stream(gateway_url, "mock:tools 3", include_usage, tools=[WEATHER_TOOL_OPENAI])
    direct = stream(mock_url, "mock:tools 3", include_usage, tools=[WEATHER_TOOL_OPENAI])

    assert via_gateway.tools == [
        ("get_weather", {"city": f"City{i}", "unit": "celsius"}) for i in range(3)]
    assert via_gateway.essentials() == direct.essentials()
    assert via_gateway.essentials()["stop"] == "tool_calls"
    check_usage_chunks(via_gateway, include_usage)


def test_sdk_request_reaches_the_upstream_with_its_headers_and_body(gateway_url, mock_url, mock):
    create(gateway_url, "Say hello")
    via_gateway = only_call(mock.requests(), "/v1/chat/completions")
    mock.clear()
    create(mock_url, "Say hello")
    direct = only_call(mock.requests(), "/v1/chat/completions")

    assert header(via_gateway, "authorization") == f"Bearer {KEY}"
    assert [n for n, _ in direct["headers"] if n.lower().startswith("x-stainless-")], \
        "the SDK sent no x-stainless-* headers"
    for name, value in direct["headers"]:
        if name.lower() not in HOP_BY_HOP:
            assert header(via_gateway, name) == value, f"header {name}"
    assert json.loads(via_gateway["body"]) == json.loads(direct["body"])

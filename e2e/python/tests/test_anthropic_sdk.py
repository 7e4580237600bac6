"""The official Anthropic SDK through the gateway to an Anthropic upstream (same API).

Every reply is compared with the reply the same SDK call gets from the mock directly: on a
same-API route the gateway must be invisible apart from ids, which the mock draws afresh.
"""

from __future__ import annotations

import json

from helpers import (CLAUDE_MODEL, KEY, MAX_TOKENS, WEATHER_TOOL_ANTHROPIC, anthropic_blocks,
                     anthropic_client, anthropic_without_ids, header, only_call, user)

HOP_BY_HOP = {"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te",
              "upgrade", "proxy-connection", "accept-encoding"}


def create(base_url: str, prompt: str, **kw):
    return anthropic_client(base_url).messages.create(
        model=CLAUDE_MODEL, max_tokens=MAX_TOKENS, messages=user(prompt), **kw)


def stream(base_url: str, prompt: str, **kw):
    """Streams with `messages.stream`; returns (text deltas joined, final message)."""
    with anthropic_client(base_url).messages.stream(
            model=CLAUDE_MODEL, max_tokens=MAX_TOKENS, messages=user(prompt), **kw) as s:
        text = "".join(s.text_stream)
        return text, s.get_final_message()


def test_create_returns_the_upstream_text_reply_unchanged(gateway_url, mock_url, mock):
    via_gateway = create(gateway_url, "Say hello")
    direct = create(mock_url, "Say hello")

    assert via_gateway.content[0].text == \
        "Hello from the Luthien mock upstream. You said: Say hello"
    assert anthropic_without_ids(via_gateway) == anthropic_without_ids(direct)
    assert via_gateway.id.startswith("msg_")


def test_stream_final_message_equals_the_upstream_reply(gateway_url, mock_url, mock):
    text, via_gateway = stream(gateway_url, "mock:deltas 20")
    direct_text, direct = stream(mock_url, "mock:deltas 20")

    assert text == direct_text == "".join(f"w{i} " for i in range(20))
    assert via_gateway.content[0].text == text
    assert via_gateway.stop_reason == "end_turn"
    assert anthropic_without_ids(via_gateway) == anthropic_without_ids(direct)


def test_three_tool_calls_non_streaming_equal_the_upstream_reply(gateway_url, mock_url, mock):
    via_gateway = create(gateway_url, "mock:tools 3", tools=[WEATHER_TOOL_ANTHROPIC])
    direct = create(mock_url, "mock:tools 3", tools=[WEATHER_TOOL_ANTHROPIC])

    tool_uses = [b for b in via_gateway.content if b.type == "tool_use"]
    assert [(b.name, b.input) for b in tool_uses] == [
        ("get_weather", {"city": f"City{i}", "unit": "celsius"}) for i in range(3)]
    assert len({b.id for b in tool_uses}) == 3
    assert via_gateway.stop_reason == "tool_use"
    assert anthropic_without_ids(via_gateway) == anthropic_without_ids(direct)


def test_three_tool_calls_streaming_assemble_to_the_upstream_reply(gateway_url, mock_url, mock):
    _, via_gateway = stream(gateway_url, "mock:tools 3", tools=[WEATHER_TOOL_ANTHROPIC])
    _, direct = stream(mock_url, "mock:tools 3", tools=[WEATHER_TOOL_ANTHROPIC])

    tool_uses = [b for b in via_gateway.content if b.type == "tool_use"]
    assert [(b.name, b.input) for b in tool_uses] == [
        ("get_weather", {"city": f"City{i}", "unit": "celsius"}) for i in range(3)]
    assert via_gateway.stop_reason == "tool_use"
    assert anthropic_without_ids(via_gateway) == anthropic_without_ids(direct)


def test_thinking_block_keeps_its_signature_non_streaming(gateway_url, mock_url, mock):
    via_gateway = create(gateway_url, "mock:thinking")
    direct = create(mock_url, "mock:thinking")

    assert [b.type for b in via_gateway.content] == ["thinking", "text"]
    assert via_gateway.content[0].signature
    assert anthropic_blocks(via_gateway) == anthropic_blocks(direct)


def test_thinking_block_keeps_its_signature_streaming(gateway_url, mock_url, mock):
    _, via_gateway = stream(gateway_url, "mock:thinking")
    _, direct = stream(mock_url, "mock:thinking")

    assert [b.type for b in via_gateway.content] == ["thinking", "text"]
    assert via_gateway.content[0].signature == direct.content[0].signature
    assert via_gateway.content[0].thinking == direct.content[0].thinking
    assert anthropic_without_ids(via_gateway) == anthropic_without_ids(direct)


def test_thinking_signature_round_trips_to_the_upstream_on_the_next_turn(gateway_url, mock):
    _, first = stream(gateway_url, "mock:thinking")
    signature = first.content[0].signature
    mock.clear()

    client = anthropic_client(gateway_url)
    client.messages.create(
        model=CLAUDE_MODEL, max_tokens=MAX_TOKENS,
        messages=[{"role": "user", "content": "mock:thinking"},
                  {"role": "assistant", "content": [b.model_dump(exclude_none=True)
                                                    for b in first.content]},
                  {"role": "user", "content": "And then?"}])

    body = json.loads(only_call(mock.requests(), "/v1/messages")["body"])
    sent_back = body["messages"][1]["content"][0]
    assert sent_back["type"] == "thinking"
    assert sent_back["signature"] == signature


def test_sdk_request_reaches_the_upstream_with_its_headers_and_body(gateway_url, mock_url, mock):
    beta = "interleaved-thinking-2025-05-14,context-management-2025-06-27"
    create(gateway_url, "Say hello", extra_headers={"anthropic-beta": beta})
    via_gateway = only_call(mock.requests(), "/v1/messages")
    mock.clear()
    create(mock_url, "Say hello", extra_headers={"anthropic-beta": beta})
    direct = only_call(mock.requests(), "/v1/messages")

    assert header(via_gateway, "anthropic-version") == header(direct, "anthropic-version")
    assert header(via_gateway, "anthropic-version"), "the SDK sent no anthropic-version"
    assert header(via_gateway, "anthropic-beta") == beta
    # This SDK version sends the key as `authorization: Bearer`; older ones used `x-api-key`.
    credential = header(direct, "x-api-key") or header(direct, "authorization")
    assert credential and KEY in credential
    assert (header(via_gateway, "x-api-key") or header(via_gateway, "authorization")) == credential
    stainless = [n for n, _ in direct["headers"] if n.lower().startswith("x-stainless-")]
    assert stainless, "the SDK sent no x-stainless-* headers"
    # Every header the SDK sent (bar hop-by-hop and transport ones) arrives with its value.
    for name, value in direct["headers"]:
        if name.lower() not in HOP_BY_HOP:
            assert header(via_gateway, name) == value, f"header {name}"
    assert json.loads(via_gateway["body"]) == json.loads(direct["body"])
    assert via_gateway["query"] == direct["query"]

"""A client of one API asking for a model served by the other provider.

OpenAI SDK → claude model (the gateway converts to Anthropic Messages and back) and Anthropic
SDK → gpt model (converted to OpenAI Chat Completions and back). The reply the client assembles
must equal what the mock returns directly in the upstream's own format: same text, same tool
names and parsed arguments in order, the stop reason mapped, output tokens carried over.
"""

from __future__ import annotations

import json

import pytest

from helpers import (ANTHROPIC_TO_OPENAI_STOP, CLAUDE_MODEL, GPT_MODEL, KEY, MAX_TOKENS,
                     OPENAI_TO_ANTHROPIC_STOP, WEATHER_TOOL_ANTHROPIC, WEATHER_TOOL_OPENAI,
                     AssembledStream, anthropic_client, anthropic_essentials, header, only_call,
                     openai_client, openai_essentials, user)

PROMPTS = pytest.mark.parametrize("prompt", ["Say hello", "mock:tools 3"], ids=["text", "tools"])


def anthropic_direct(mock_url: str, prompt: str):
    return anthropic_client(mock_url).messages.create(
        model=CLAUDE_MODEL, max_tokens=MAX_TOKENS, messages=user(prompt),
        tools=[WEATHER_TOOL_ANTHROPIC])


def openai_direct(mock_url: str, prompt: str):
    return openai_client(mock_url).chat.completions.create(
        model=GPT_MODEL, messages=user(prompt), tools=[WEATHER_TOOL_OPENAI])


def expected_tools(prompt: str) -> list:
    n = 3 if prompt == "mock:tools 3" else 0
    return [("get_weather", {"city": f"City{i}", "unit": "celsius"}) for i in range(n)]


def as_openai(anthropic_reply) -> dict:
    e = anthropic_essentials(anthropic_reply)
    return {**e, "stop": ANTHROPIC_TO_OPENAI_STOP[e["stop"]]}


def as_anthropic(openai_reply) -> dict:
    e = openai_essentials(openai_reply)
    return {**e, "stop": OPENAI_TO_ANTHROPIC_STOP[e["stop"]]}


def check_reached_anthropic(mock, model: str) -> None:
    call = only_call(mock.requests(), "/v1/messages")
    assert json.loads(call["body"])["model"] == model
    assert header(call, "anthropic-version"), "converted request lacks anthropic-version"
    keys = {header(call, "x-api-key"), header(call, "authorization")}
    assert keys & {KEY, f"Bearer {KEY}"}, f"client key not forwarded: {call['headers']}"


def check_reached_openai(mock, model: str) -> None:
    call = only_call(mock.requests(), "/v1/chat/completions")
    assert json.loads(call["body"])["model"] == model
    assert header(call, "authorization") == f"Bearer {KEY}"


# ---------------------------------------------------------------- OpenAI SDK → claude model


@PROMPTS
def test_openai_sdk_to_claude_non_streaming_equals_the_anthropic_reply(gateway_url, mock_url,
                                                                       mock, prompt):
    via_gateway = openai_client(gateway_url).chat.completions.create(
        model=CLAUDE_MODEL, messages=user(prompt), tools=[WEATHER_TOOL_OPENAI])
    check_reached_anthropic(mock, CLAUDE_MODEL)
    direct = anthropic_direct(mock_url, prompt)

    assert openai_essentials(via_gateway) == as_openai(direct)
    assert openai_essentials(via_gateway)["tools"] == expected_tools(prompt)
    assert via_gateway.choices[0].message.role == "assistant"
    assert via_gateway.usage.completion_tokens == direct.usage.output_tokens
    for call in via_gateway.choices[0].message.tool_calls or []:
        assert call.id and call.type == "function"


@PROMPTS
@pytest.mark.parametrize("include_usage", [False, True], ids=["without_usage", "with_usage"])
def test_openai_sdk_to_claude_streaming_assembles_to_the_anthropic_reply(
        gateway_url, mock_url, mock, prompt, include_usage):
    kw = {"stream_options": {"include_usage": True}} if include_usage else {}
    via_gateway = AssembledStream(openai_client(gateway_url).chat.completions.create(
        model=CLAUDE_MODEL, messages=user(prompt), tools=[WEATHER_TOOL_OPENAI], stream=True,
        **kw))
    check_reached_anthropic(mock, CLAUDE_MODEL)
    direct = anthropic_direct(mock_url, prompt)

    assert via_gateway.essentials() == as_openai(direct)
    assert via_gateway.tools == expected_tools(prompt)
    if include_usage:
        assert len(via_gateway.usage_chunks) == 1
        last = via_gateway.chunks[-1]
        assert last.choices == [] and last.usage is not None
        assert last.usage.completion_tokens == direct.usage.output_tokens
    else:
        assert via_gateway.usage_chunks == []


# ---------------------------------------------------------------- Anthropic SDK → gpt model


def check_anthropic_shape(message) -> None:
    types = [b.type for b in message.content]
    assert types == sorted(types, key=lambda t: t == "tool_use"), f"text after tool_use: {types}"
    for block in message.content:
        if block.type == "text":
            assert block.text, "empty text block"
        if block.type == "tool_use":
            assert block.id


@PROMPTS
def test_anthropic_sdk_to_gpt_non_streaming_equals_the_openai_reply(gateway_url, mock_url, mock,
                                                                    prompt):
    via_gateway = anthropic_client(gateway_url).messages.create(
        model=GPT_MODEL, max_tokens=MAX_TOKENS, messages=user(prompt),
        tools=[WEATHER_TOOL_ANTHROPIC])
    check_reached_openai(mock, GPT_MODEL)
    direct = openai_direct(mock_url, prompt)

    assert anthropic_essentials(via_gateway) == as_anthropic(direct)
    assert anthropic_essentials(via_gateway)["tools"] == expected_tools(prompt)
    check_anthropic_shape(via_gateway)
    assert via_gateway.role == "assistant" and via_gateway.type == "message"
    assert via_gateway.usage.output_tokens == direct.usage.completion_tokens


@PROMPTS
def test_anthropic_sdk_to_gpt_streaming_assembles_to_the_openai_reply(gateway_url, mock_url, mock,
                                                                     prompt):
    with anthropic_client(gateway_url).messages.stream(
            model=GPT_MODEL, max_tokens=MAX_TOKENS, messages=user(prompt),
            tools=[WEATHER_TOOL_ANTHROPIC]) as s:
        streamed_text = "".join(s.text_stream)
        via_gateway = s.get_final_message()
    check_reached_openai(mock, GPT_MODEL)
    direct = openai_direct(mock_url, prompt)

    assert anthropic_essentials(via_gateway) == as_anthropic(direct)
    assert streamed_text == as_anthropic(direct)["text"]
    assert anthropic_essentials(via_gateway)["tools"] == expected_tools(prompt)
    check_anthropic_shape(via_gateway)
    assert via_gateway.usage.output_tokens == direct.usage.completion_tokens

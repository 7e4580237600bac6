"""The official OpenAI SDK's Responses API (`client.responses`, what Codex uses) through the gateway.

Native: to an OpenAI upstream (the mock's `/v1/responses`), compared with the same SDK call made
directly against the mock. Converted: to an Anthropic upstream, where the SDK must still get a
stream and a response object it accepts, with Codex's custom `apply_patch` call in its own shape.
"""

from __future__ import annotations

import json

import openai
import pytest

from helpers import CLAUDE_MODEL, GPT_MODEL, openai_client

EXEC_TOOL = {"type": "function", "name": "exec_command", "description": "Run a shell command",
             "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}},
                            "required": ["cmd"]}}
PATCH_TOOL = {"type": "custom", "name": "apply_patch", "description": "Apply a patch"}
MODELS = pytest.mark.parametrize("model", [GPT_MODEL, CLAUDE_MODEL], ids=["native", "from_anthropic"])


def user_input(text: str) -> list[dict]:
    return [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}]


def essentials(response) -> dict:
    """What a client acts on: status, text and the calls, without ids."""
    calls = []
    for item in response.output:
        if item.type == "function_call":
            calls.append({"type": item.type, "name": item.name,
                          "arguments": json.loads(item.arguments)})
        elif item.type == "custom_tool_call":
            calls.append({"type": item.type, "name": item.name, "input": item.input})
    return {"status": response.status, "text": response.output_text, "calls": calls}


@MODELS
def test_create_returns_a_response_object(gateway_url, model):
    r = openai_client(gateway_url).responses.create(model=model, input=user_input("mock:text hello codex"))
    assert essentials(r) == {"status": "completed", "text": "hello codex", "calls": []}
    assert r.usage is not None and r.usage.output_tokens > 0


@MODELS
def test_stream_events_assemble_into_the_final_response(gateway_url, model):
    client = openai_client(gateway_url)
    with client.responses.stream(model=model, input=user_input("mock:deltas 12")) as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "".join(f"w{i} " for i in range(12))
    assert final.output_text == "".join(deltas)
    assert final.status == "completed"


@MODELS
def test_an_exec_command_call_streams_with_its_arguments(gateway_url, model):
    client = openai_client(gateway_url)
    prompt = 'mock:tool exec_command {"cmd": "ls -la /tmp"}'
    with client.responses.stream(model=model, input=user_input(prompt), tools=[EXEC_TOOL, PATCH_TOOL]) as s:
        events = list(s)
        final = s.get_final_response()
    calls = essentials(final)["calls"]
    assert calls == [{"type": "function_call", "name": "exec_command", "arguments": {"cmd": "ls -la /tmp"}}]
    seqs = [e.sequence_number for e in events]
    assert seqs == list(range(len(seqs))), "sequence numbers are contiguous from 0"


def test_native_matches_the_upstream_called_directly(gateway_url, mock_url):
    prompt = 'mock:tool exec_command {"cmd": "pwd"}'
    via = openai_client(gateway_url).responses.create(model=GPT_MODEL, input=user_input(prompt),
                                                      tools=[EXEC_TOOL])
    direct = openai_client(mock_url).responses.create(model=GPT_MODEL, input=user_input(prompt),
                                                      tools=[EXEC_TOOL])
    assert essentials(via) == essentials(direct)


@MODELS
def test_an_apply_patch_custom_call_comes_back_as_a_custom_tool_call(gateway_url, model):
    patch = "*** Begin Patch\n*** Add File: hello.txt\n+hi\n*** End Patch"
    prompt = (f"mock:custom apply_patch {patch}" if model == GPT_MODEL
              else "mock:tool apply_patch " + json.dumps({"input": patch}))
    r = openai_client(gateway_url).responses.create(model=model, input=user_input(prompt),
                                                    tools=[EXEC_TOOL, PATCH_TOOL])
    assert essentials(r)["calls"] == [{"type": "custom_tool_call", "name": "apply_patch", "input": patch}]


def test_an_unknown_model_raises_the_sdks_not_found_error(gateway_url):
    with pytest.raises(openai.BadRequestError) as e:
        openai_client(gateway_url).responses.create(model="mystery-model", input="hi")
    assert e.value.code == "model_not_found"


def test_a_rate_limit_raises_the_sdks_rate_limit_error(gateway_url):
    client = openai_client(gateway_url, max_retries=0)
    with pytest.raises(openai.RateLimitError):
        client.responses.create(model=CLAUDE_MODEL, input=user_input("mock:error 429"))

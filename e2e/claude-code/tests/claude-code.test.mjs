// The real Claude Code CLI, headless (`claude -p`), through `luthien serve` to the mock upstream.
//
// Processes: luthien-mock-upstream ← luthien serve ← tap ← claude (see harness.mjs). The tap
// records what Claude Code asked the gateway and what status the gateway answered, because "no
// request got a 5xx" needs the gateway's answers, not only what reached the mock.
// Binaries come from LUTHIEN_BIN_DIR (default <repo>/target/debug); nothing is built here.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MODEL, Stack, headerOf, logOf, summarise } from './harness.mjs';

const workDir = mkdtempSync(path.join(os.tmpdir(), 'luthien-e2e-cc-'));
const stack = new Stack(workDir);

// ------------------------------------------------------------------ suite

describe('Claude Code headless through the gateway', { timeout: 10 * 60_000 }, () => {
  before(async () => {
    await stack.start();
  });

  after(async () => {
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  test('runs a Bash tool call through the gateway and finishes the turn', async () => {
    await stack.clearMock();
    stack.tap.seen.length = 0;
    const gateway = stack.gateway;
    const logStart = logOf(gateway).length;
    const marker = path.join(workDir, 'marker');
    const command = `touch ${marker}`;
    const run = await stack.runClaude(`mock:tool Bash ${JSON.stringify({ command })}`);
    await stack.explainOnFailure(run, async () => {
      assert.equal(run.timedOut, false, 'claude did not finish in time');
      assert.equal(run.code, 0, 'claude exit code');
      assert.ok(existsSync(marker), 'the Bash tool call did not run: no marker file');

      // stream-json: the tool call, its result, and a successful final result.
      const toolUses = run.events.filter((e) => e.type === 'assistant')
        .flatMap((e) => e.message.content).filter((b) => b.type === 'tool_use');
      assert.equal(toolUses.length, 1);
      assert.equal(toolUses[0].name, 'Bash');
      assert.deepEqual(toolUses[0].input, { command });
      const result = run.events.find((e) => e.type === 'result');
      assert.ok(result, 'no result event');
      assert.equal(result.is_error, false);
      assert.match(result.result, /^Tool result received: /);

      // What reached the upstream: two streamed model calls with Claude Code's headers.
      const records = await stack.mockRequests();
      const calls = records.filter((r) => r.method === 'POST' && r.path === '/v1/messages');
      assert.equal(calls.length, 2, `model calls at the upstream: ${calls.length}`);
      const fromClaude = stack.tap.seen.filter((x) => x.method === 'POST'
        && x.url.startsWith('/v1/messages'));
      assert.equal(fromClaude.length, 2, 'model calls Claude Code sent');
      for (const [i, call] of calls.entries()) {
        assert.equal(call.query, 'beta=true');
        const beta = headerOf(call, 'anthropic-beta');
        assert.ok(beta && beta.includes('claude-code-'), `anthropic-beta: ${beta}`);
        assert.equal(beta, fromClaude[i].headers['anthropic-beta'], 'anthropic-beta changed');
        assert.equal(headerOf(call, 'anthropic-version'), fromClaude[i].headers['anthropic-version']);
        assert.equal(headerOf(call, 'x-api-key'), 'test-key');
        assert.equal(JSON.parse(call.body).stream, true);
      }
      const second = JSON.parse(calls[1].body);
      const lastTurn = second.messages.at(-1);
      assert.equal(lastTurn.role, 'user');
      const toolResult = lastTurn.content.find((b) => b.type === 'tool_result');
      assert.ok(toolResult, 'second call carries no tool_result');
      assert.equal(toolResult.tool_use_id, toolUses[0].id);
      assert.equal(toolResult.is_error, false);
      // The assistant turn is re-sent with the tool_use the gateway delivered.
      const resent = second.messages.at(-2).content.find((b) => b.type === 'tool_use');
      assert.deepEqual([resent.id, resent.name, resent.input],
        [toolUses[0].id, 'Bash', { command }]);

      // Record what Claude Code sent, at the gateway (via the tap) and at the upstream.
      summarise('claude -> gateway', stack.tap.seen.map((x) => ({ method: x.method,
        path: x.url.split('?')[0], headerNames: Object.keys(x.headers) })));
      summarise('gateway -> upstream', records.map((r) => ({ method: r.method, path: r.path,
        headerNames: r.headers.map(([n]) => n.toLowerCase()) })));
      console.log(`claude -> gateway statuses: ${JSON.stringify(stack.tap.seen.map((x) => `${x.method} ${x.url} ${x.status}`))}`);

      // No request Claude Code made got a 5xx (or no answer), and the gateway logged no failure.
      for (const x of stack.tap.seen) {
        assert.equal(x.error, null, `${x.method} ${x.url}: ${x.error}`);
        assert.ok(x.status < 500, `${x.method} ${x.url} answered ${x.status}`);
      }
      const gatewayLog = logOf(gateway).slice(logStart);
      assert.doesNotMatch(gatewayLog, /request failed|panicked|stream ended with an error/);
    });
  });

  test('reports an upstream 429 with its status and message when retries are off', async () => {
    await stack.clearMock();
    stack.tap.seen.length = 0;
    // The message the upstream puts in its 429, asked directly.
    const direct = await fetch(`${stack.mockUrl}/v1/messages`, { method: 'POST',
      headers: { 'x-api-key': 'test-key', 'anthropic-version': '2023-06-01',
        'content-type': 'application/json' },
      body: JSON.stringify({ model: MODEL, max_tokens: 16,
        messages: [{ role: 'user', content: 'mock:error 429' }] }) });
    assert.equal(direct.status, 429);
    const upstreamMessage = (await direct.json()).error.message;
    await stack.clearMock();

    const run = await stack.runClaude('mock:error 429', { maxRetries: 0 });
    await stack.explainOnFailure(run, async () => {
      assert.equal(run.timedOut, false, 'claude did not finish in time');
      assert.notEqual(run.code, 0, 'claude should exit with an error');
      const result = run.events.find((e) => e.type === 'result');
      assert.ok(result, 'no result event');
      assert.equal(result.is_error, true);
      assert.equal(result.api_error_status, 429);
      assert.ok(result.result.includes('429'), result.result);
      assert.ok(result.result.includes(upstreamMessage),
        `result ${JSON.stringify(result.result)} lacks the upstream message ${JSON.stringify(upstreamMessage)}`);

      const calls = (await stack.mockRequests()).filter((r) => r.path === '/v1/messages');
      assert.equal(calls.length, 1, 'CLAUDE_CODE_MAX_RETRIES=0 means one attempt');
      const answered = stack.tap.seen.filter((x) => x.url.startsWith('/v1/messages'));
      assert.deepEqual(answered.map((x) => x.status), [429]);
      assert.equal(answered[0].responseHeaders['retry-after'], '1', 'retry-after not kept');
    });
  });
});

// `luthien claude` with the real Claude Code: the launcher starts a background gateway (none is
// running), points Claude Code at it, passes the arguments through, keeps the admin key from the
// agent, and exits with Claude Code's code. Then `luthien down` stops the gateway it started.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { CLAUDE_KEY, CLAUDE_TIMEOUT_MS, MODEL, binDir, claudeBin, freePort } from './harness.mjs';

const luthien = path.join(binDir, 'luthien');
const work = mkdtempSync(path.join(os.tmpdir(), 'luthien-launcher-'));
let env;
let mock;

after(() => {
  if (env) spawnSync(luthien, ['down'], { env, encoding: 'utf8' });
  mock?.kill('SIGTERM');
});

test('luthien claude starts a gateway, runs Claude Code through it and returns its exit code', async () => {
  const [mockPort, gatewayPort] = [await freePort(), await freePort()];
  mock = spawn(path.join(binDir, 'luthien-mock-upstream'), ['--host', '127.0.0.1', '--port', String(mockPort)],
    { stdio: 'ignore' });
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  for (let i = 0; i < 300; i += 1) {
    try { if ((await fetch(`${mockUrl}/_mock/requests`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  const home = path.join(work, 'home');
  env = {
    PATH: process.env.PATH, HOME: home, NO_COLOR: '1',
    LUTHIEN_DATA_DIR: path.join(work, 'data'), GATEWAY_PORT: String(gatewayPort),
    ANTHROPIC_UPSTREAM_URL: mockUrl, ADMIN_API_KEY: 'launcher-admin-key',
    LUTHIEN_CLAUDE_BIN: claudeBin,
    ANTHROPIC_API_KEY: CLAUDE_KEY, ANTHROPIC_MODEL: MODEL, ANTHROPIC_SMALL_FAST_MODEL: MODEL,
    ANTHROPIC_DEFAULT_HAIKU_MODEL: MODEL, ANTHROPIC_DEFAULT_SONNET_MODEL: MODEL,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1', DISABLE_AUTOUPDATER: '1', DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1', CLAUDE_CODE_MAX_RETRIES: '0',
  };
  const run = spawnSync(luthien, ['claude', '-p', 'Say it. mock:text launched through luthien',
    '--output-format', 'json', '--model', MODEL], { env, cwd: work, encoding: 'utf8', timeout: CLAUDE_TIMEOUT_MS });
  const why = `exit ${run.status}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.status, 0, why);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1));
  assert.equal(result.is_error, false, why);
  assert.match(result.result, /launched through luthien/, why);

  // The request went through the gateway (it recorded it) to the mock, with the user's own key.
  const seen = await (await fetch(`${mockUrl}/_mock/requests`)).json();
  const messages = seen.filter((r) => r.path.startsWith('/v1/messages') && !r.path.includes('count_tokens'));
  assert.ok(messages.length >= 1, JSON.stringify(seen.map((r) => r.path)));
  const keyHeader = messages[0].headers.find(([k]) => k === 'x-api-key');
  assert.equal(keyHeader?.[1], CLAUDE_KEY, 'the user credential is passed through');
  const status = spawnSync(luthien, ['status', '--json'], { env, encoding: 'utf8' });
  assert.equal(status.status, 0, status.stderr);
  assert.equal(JSON.parse(status.stdout).running, true, status.stdout);

  // A failing Claude Code run's exit code comes back through the launcher.
  const bad = spawnSync(luthien, ['claude', '--definitely-not-an-option'], { env, cwd: work, encoding: 'utf8',
    timeout: CLAUDE_TIMEOUT_MS });
  const direct = spawnSync(claudeBin, ['--definitely-not-an-option'], { env, cwd: work, encoding: 'utf8',
    timeout: CLAUDE_TIMEOUT_MS });
  assert.notEqual(direct.status, 0);
  assert.equal(bad.status, direct.status, `launcher ${bad.status} vs direct ${direct.status}: ${bad.stderr}`);

  const down = spawnSync(luthien, ['down'], { env, encoding: 'utf8' });
  assert.equal(down.status, 0, down.stderr);
  await assert.rejects(fetch(`http://127.0.0.1:${gatewayPort}/health`), 'the gateway is stopped');
});

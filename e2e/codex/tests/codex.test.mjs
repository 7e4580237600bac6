// The real Codex CLI through `luthien codex`: the launcher starts a gateway (none is running),
// points Codex at its /v1/responses without touching Codex's own config, and Codex runs a
// command the (mock) model asked for, then finishes its turn. With a policy, the gateway removes
// a dangerous call before Codex sees it: the command never runs.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..', '..');
const binDir = process.env.LUTHIEN_BIN_DIR || path.join(repoRoot, 'target', 'debug');
const luthien = path.join(binDir, 'luthien');
const codexBin = path.resolve(here, '..', 'node_modules', '.bin', 'codex');
const MODEL = 'gpt-5.5';
const TIMEOUT_MS = 120_000;
const stacks = [];

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

after(() => {
  for (const s of stacks) {
    spawnSync(luthien, ['down'], { env: s.env, encoding: 'utf8' });
    s.mock.kill('SIGTERM');
  }
});

// A mock upstream and the environment `luthien codex` runs in (gateway settings, Codex home).
async function stack(policyYaml) {
  const work = mkdtempSync(path.join(os.tmpdir(), 'luthien-codex-'));
  const [mockPort, gatewayPort] = [await freePort(), await freePort()];
  const mock = spawn(path.join(binDir, 'luthien-mock-upstream'), ['--host', '127.0.0.1', '--port', String(mockPort)],
    { stdio: 'ignore' });
  const mockUrl = `http://127.0.0.1:${mockPort}`;
  for (let i = 0; i < 300; i += 1) {
    try { if ((await fetch(`${mockUrl}/_mock/requests`)).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  const codexHome = path.join(work, 'codex-home');
  mkdirSync(codexHome);
  const env = {
    PATH: process.env.PATH, HOME: path.join(work, 'home'), NO_COLOR: '1', RUST_LOG: 'warn',
    LUTHIEN_DATA_DIR: path.join(work, 'data'), GATEWAY_PORT: String(gatewayPort),
    OPENAI_UPSTREAM_URL: `${mockUrl}/v1`, ADMIN_API_KEY: 'codex-admin-key',
    LUTHIEN_CODEX_BIN: codexBin, CODEX_HOME: codexHome, OPENAI_API_KEY: 'test-key',
  };
  if (policyYaml) {
    const file = path.join(work, 'policy.yaml');
    writeFileSync(file, policyYaml);
    env.POLICY_CONFIG = file;
  }
  const s = { work, mock, mockUrl, env, gatewayUrl: `http://127.0.0.1:${gatewayPort}` };
  stacks.push(s);
  return s;
}

function runCodex(s, prompt) {
  const cwd = path.join(s.work, 'project');
  mkdirSync(cwd, { recursive: true });
  const run = spawnSync(luthien, ['codex', 'exec', '--json', '--skip-git-repo-check',
    '-s', 'danger-full-access', '-m', MODEL, prompt], { env: s.env, cwd, encoding: 'utf8', timeout: TIMEOUT_MS });
  run.why = `exit ${run.status} signal ${run.signal}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  run.events = (run.stdout || '').split('\n').filter((l) => l.trim()).map((l) => {
    try { return JSON.parse(l); } catch { return { unparsed: l }; }
  });
  return run;
}

async function responsesRequests(s) {
  const seen = await (await fetch(`${s.mockUrl}/_mock/requests`)).json();
  return seen.filter((r) => r.path === '/v1/responses');
}

const bodyOf = (r) => { try { return JSON.parse(r.body); } catch { return {}; } };

test('luthien codex runs Codex through the gateway: it runs the model\'s command and finishes', async () => {
  const s = await stack();
  const marker = path.join(s.work, 'ran-by-codex');
  const run = runCodex(s, `Please run it. mock:tool exec_command {"cmd":"touch ${marker}"}`);
  assert.equal(run.status, 0, run.why);
  assert.ok(existsSync(marker), `Codex ran the command through the gateway\n${run.why}`);
  const reqs = await responsesRequests(s);
  assert.ok(reqs.length >= 2, `a follow-up turn carried the command's output: ${reqs.length}\n${run.why}`);
  const auth = reqs[0].headers.find(([k]) => k === 'authorization');
  assert.equal(auth?.[1], 'Bearer test-key', 'the user key is passed through');
  // The turn is recorded (the recorder writes in batches): the history lists one Codex session.
  let page = { items: [] };
  for (let i = 0; i < 100 && page.items.length === 0; i += 1) {
    const hist = await fetch(`${s.gatewayUrl}/api/history/sessions`, { headers: { authorization: 'Bearer codex-admin-key' } });
    page = await hist.json();
    if (page.items.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(page.items.length, 1, `every turn files under Codex's one session: ${JSON.stringify(page)}`);
  assert.ok(page.items[0].transaction_count >= 2, JSON.stringify(page));
});

test('a dangerous command is blocked at the gateway: no effect, no output sent, the block shown', async () => {
  const s = await stack('policy:\n  class: block_dangerous_commands\n');
  // Codex refuses rm -rf by itself; chmod -R 777 it would run, so only the gateway stops it.
  const dir = path.join(s.work, 'guarded');
  mkdirSync(dir, { mode: 0o700 });
  chmodSync(dir, 0o700);
  const run = runCodex(s, `Open it up. mock:tool exec_command {"cmd":"chmod -R 777 ${dir}"}`);
  assert.equal(run.status, 0, run.why);
  assert.equal(statSync(dir).mode & 0o777, 0o700, `the command had no effect\n${run.why}`);
  const reqs = await responsesRequests(s);
  const outputs = reqs.flatMap((r) => (bodyOf(r).input || []).filter((i) => i.type === 'function_call_output'));
  assert.deepEqual(outputs, [], 'the upstream never received an output for the blocked call');
  const said = run.events.filter((e) => e.item?.type === 'agent_message').map((e) => e.item.text).join('\n');
  assert.match(said || run.stdout, /blocked/i, `Codex showed the block message\n${run.why}`);
});

// Shared helpers of the Claude Code end-to-end tests: a `Stack` is one luthien-mock-upstream, one
// `luthien serve` in front of it and a recording tap in front of the gateway; `runClaude` drives
// the real Claude Code CLI headless through it.
//
// Processes: luthien-mock-upstream ← luthien serve ← tap ← claude. The tap is a transparent
// byte pipe in this process that records what Claude Code asked the gateway (method, path,
// headers) and what status the gateway answered; it exists because the gateway keeps no access
// log, and "no request got a 5xx" needs the gateway's answers, not only what reached the mock.
// Binaries come from LUTHIEN_BIN_DIR (default <repo>/target/debug); nothing is built here.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const suiteDir = path.resolve(here, '..');
export const repoRoot = path.resolve(suiteDir, '..', '..');
export const binDir = process.env.LUTHIEN_BIN_DIR || path.join(repoRoot, 'target', 'debug');
export const claudeBin = path.join(suiteDir, 'node_modules', '@anthropic-ai', 'claude-code', 'bin',
  'claude.exe');
export const MODEL = 'claude-sonnet-4-5';
export const CLAUDE_KEY = 'test-key';
export const STARTUP_MS = 30_000;
export const CLAUDE_TIMEOUT_MS = 120_000;

// ------------------------------------------------------------------ processes

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const logOf = (proc) => (existsSync(proc.logPath) ? readFileSync(proc.logPath, 'utf8') : '');

export async function waitReady(proc, url) {
  const deadline = Date.now() + STARTUP_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.exited) {
      throw new Error(`${proc.name} exited (${JSON.stringify(proc.exited)}) before it was ready:\n${logOf(proc)}`);
    }
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${proc.name} not ready at ${url} within ${STARTUP_MS} ms (${last}):\n${logOf(proc)}`);
}

export async function stopProc(proc) {
  if (proc.exited) return;
  const exited = new Promise((r) => proc.child.once('exit', r));
  proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

// A transparent HTTP pipe in front of the gateway that records each exchange.
export function startTap(targetPort) {
  const seen = [];
  const server = http.createServer((req, res) => {
    const entry = { method: req.method, url: req.url, headers: req.headers, status: null,
      responseHeaders: null, error: null };
    seen.push(entry);
    const upstream = http.request({ host: '127.0.0.1', port: targetPort, method: req.method,
      path: req.url, headers: req.headers }, (upRes) => {
      entry.status = upRes.statusCode;
      entry.responseHeaders = upRes.headers;
      res.writeHead(upRes.statusCode, upRes.statusMessage, upRes.rawHeaders);
      upRes.pipe(res);
      upRes.on('error', (e) => { entry.error = String(e); res.destroy(e); });
    });
    upstream.on('error', (e) => {
      entry.error = String(e);
      if (!res.headersSent) res.writeHead(599);
      res.end();
    });
    req.pipe(upstream);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}`, seen,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) });
    });
  });
}

// ------------------------------------------------------------------ mock records

// The value of header `name` in a mock record (headers are [name, value] pairs); at most one.
export const headerOf = (record, name) => {
  const values = record.headers.filter(([n]) => n.toLowerCase() === name).map(([, v]) => v);
  assert.ok(values.length <= 1, `${name} sent ${values.length} times`);
  return values[0];
};

export function summarise(label, exchanges) {
  const endpoints = [...new Set(exchanges.map((x) => `${x.method} ${x.path}`))].sort();
  const headers = [...new Set(exchanges.flatMap((x) => x.headerNames))].sort();
  console.log(`${label}: endpoints ${JSON.stringify(endpoints)}`);
  console.log(`${label}: header names ${JSON.stringify(headers)}`);
}

// ------------------------------------------------------------------ the stack

export class Stack {
  // `workDir`: where logs, homes and working directories go (the caller removes it).
  constructor(workDir) {
    this.workDir = workDir;
    this.procs = [];
    this.mockUrl = null;
    this.gatewayUrl = null;
    this.tap = null;
  }

  startProc(name, argv, env) {
    assert.ok(existsSync(argv[0]),
      `${argv[0]} not found: run 'cargo build --bins' or set LUTHIEN_BIN_DIR`);
    const logPath = path.join(this.workDir, `${name}.log`);
    const log = createWriteStream(logPath);
    const child = spawn(argv[0], argv.slice(1), { env, cwd: this.workDir,
      stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    const proc = { name, child, logPath, exited: null };
    child.on('exit', (code, signal) => { proc.exited = { code, signal }; });
    this.procs.push(proc);
    return proc;
  }

  get gateway() {
    return this.procs.find((p) => p.name === 'gateway');
  }

  // Starts the mock, the gateway (passthrough auth; `gatewayEnv` is added to its environment)
  // and the tap, and waits until each answers.
  async start({ gatewayEnv = {} } = {}) {
    assert.ok(existsSync(claudeBin), `${claudeBin} missing: run e2e/claude-code/run.sh`);
    const [mockPort, gatewayPort] = [await freePort(), await freePort()];
    this.mockUrl = `http://127.0.0.1:${mockPort}`;
    this.gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    const home = mkdtempSync(path.join(this.workDir, 'gateway-home-'));
    const env = { PATH: process.env.PATH, HOME: home, RUST_LOG: process.env.E2E_RUST_LOG || 'info',
      LOG_FORMAT: 'pretty', NO_COLOR: '1' };
    const mock = this.startProc('mock-upstream', [path.join(binDir, 'luthien-mock-upstream'),
      '--host', '127.0.0.1', '--port', String(mockPort)], env);
    await waitReady(mock, `${this.mockUrl}/_mock/requests`);
    const gateway = this.startProc('gateway', [path.join(binDir, 'luthien'), 'serve',
      '--gateway-host', '127.0.0.1', '--gateway-port', String(gatewayPort),
      '--anthropic-upstream-url', this.mockUrl, '--openai-upstream-url', `${this.mockUrl}/v1`,
      '--auth-mode', 'passthrough'], { ...env, ...gatewayEnv });
    await waitReady(gateway, `${this.gatewayUrl}/health`);
    this.tap = await startTap(gatewayPort);
  }

  async stop() {
    if (this.tap) await this.tap.close();
    for (const p of [...this.procs].reverse()) await stopProc(p);
  }

  // Every request the mock upstream received since the last clear.
  async mockRequests() {
    const r = await fetch(`${this.mockUrl}/_mock/requests`);
    assert.equal(r.status, 200);
    return r.json();
  }

  async clearMock() {
    const r = await fetch(`${this.mockUrl}/_mock/requests`, { method: 'DELETE' });
    assert.equal(r.status, 204);
  }

  // Runs `luthien claude -p <prompt>` headless: the launcher is given the tap as the configured
  // gateway (LUTHIEN_GATEWAY_URL) and sets ANTHROPIC_BASE_URL itself; resolves with Claude
  // Code's exit and events.
  runClaude(prompt, { maxRetries = 0 } = {}) {
    const home = mkdtempSync(path.join(this.workDir, 'home-'));
    const cwd = mkdtempSync(path.join(this.workDir, 'cwd-'));
    // A clean environment: nothing from the caller's Claude Code or Anthropic settings leaks in.
    const env = {
      PATH: process.env.PATH,
      SHELL: '/bin/bash',
      LANG: 'C.UTF-8',
      HOME: home,
      TMPDIR: os.tmpdir(),
      LUTHIEN_GATEWAY_URL: this.tap.url,
      LUTHIEN_CLAUDE_BIN: claudeBin,
      ANTHROPIC_API_KEY: CLAUDE_KEY,
      ANTHROPIC_MODEL: MODEL,
      ANTHROPIC_DEFAULT_OPUS_MODEL: MODEL,
      ANTHROPIC_DEFAULT_SONNET_MODEL: MODEL,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: MODEL,
      ANTHROPIC_SMALL_FAST_MODEL: MODEL,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_ERROR_REPORTING: '1',
      DISABLE_BUG_COMMAND: '1',
      DISABLE_COST_WARNINGS: '1',
      CLAUDE_CODE_MAX_RETRIES: String(maxRetries),
    };
    // As root, --dangerously-skip-permissions is refused; --allowedTools Bash lets Bash run.
    const args = ['-p', prompt, '--output-format', 'stream-json', '--verbose',
      '--allowedTools', 'Bash', '--model', MODEL];
    return new Promise((resolve, reject) => {
      const child = spawn(path.join(binDir, 'luthien'), ['claude', ...args],
        { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      let timedOut = false;
      const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, CLAUDE_TIMEOUT_MS);
      child.on('error', (e) => { clearTimeout(timer); reject(e); });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const events = stdout.split('\n').filter((l) => l.trim()).map((l) => {
          try { return JSON.parse(l); } catch { return { unparsed: l }; }
        });
        resolve({ code, signal, timedOut, stdout, stderr, events });
      });
    });
  }

  // Runs `fn`; on failure prints what helps to see why, then fails.
  async explainOnFailure(run, fn) {
    try {
      await fn();
    } catch (e) {
      console.log(`--- claude exit ${run?.code} signal ${run?.signal} timedOut ${run?.timedOut}`);
      console.log(`--- claude stdout:\n${run?.stdout}\n--- claude stderr:\n${run?.stderr}`);
      console.log(`--- tap exchanges:\n${JSON.stringify(this.tap.seen.map(({ method, url, status, error }) => ({ method, url, status, error })), null, 1)}`);
      for (const p of this.procs) console.log(`--- ${p.name} log:\n${logOf(p).slice(-20000)}`);
      throw e;
    }
  }
}

// ------------------------------------------------------------------ stream-json

// All content blocks of the `assistant` events, in order.
export const assistantBlocks = (run) => run.events.filter((e) => e.type === 'assistant')
  .flatMap((e) => e.message.content);

// All tool_result blocks of the `user` events (what Claude Code sends back after running a tool).
export const toolResults = (run) => run.events.filter((e) => e.type === 'user')
  .flatMap((e) => (Array.isArray(e.message?.content) ? e.message.content : []))
  .filter((b) => b.type === 'tool_result');

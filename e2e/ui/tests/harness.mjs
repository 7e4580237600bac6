// Shared helpers of the browser tests: a `Stack` is one luthien-mock-upstream and one
// `luthien serve` in front of it (SQLite in a temp data dir, a known admin key); `browser()`
// launches Debian's Chromium through playwright-core with the flags this sandbox needs.

import { spawn } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '..', '..', '..');
export const binDir = process.env.LUTHIEN_BIN_DIR || path.join(repoRoot, 'target', 'debug');
export const artifacts = path.join(repoRoot, 'e2e', 'artifacts', 'ui');
export const ADMIN_KEY = 'ui-test-admin-key';
export const MODEL = 'claude-sonnet-4-5';

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

async function waitReady(proc, url) {
  const deadline = Date.now() + 30_000;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (proc.exited) throw new Error(`${proc.name} exited early:\n${readFileSync(proc.logPath, 'utf8')}`);
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (r.status === 200) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${proc.name} not ready at ${url} (${last}):\n${readFileSync(proc.logPath, 'utf8')}`);
}

export class Stack {
  constructor() {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'luthien-ui-'));
    this.procs = [];
  }

  startProc(name, argv, env) {
    const logPath = path.join(this.dir, `${name}.log`);
    const log = createWriteStream(logPath);
    const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    const proc = { name, child, logPath, exited: null };
    child.on('exit', (code, signal) => { proc.exited = { code, signal }; });
    this.procs.push(proc);
    return proc;
  }

  async start() {
    const [mockPort, port] = [await freePort(), await freePort()];
    this.mockUrl = `http://127.0.0.1:${mockPort}`;
    this.url = `http://127.0.0.1:${port}`;
    const env = { PATH: process.env.PATH, HOME: this.dir, RUST_LOG: 'info' };
    const mock = this.startProc('mock', [path.join(binDir, 'luthien-mock-upstream'),
      '--host', '127.0.0.1', '--port', String(mockPort)], env);
    await waitReady(mock, `${this.mockUrl}/_mock/requests`);
    const gw = this.startProc('gateway', [path.join(binDir, 'luthien'), 'serve',
      '--gateway-port', String(port), '--data-dir', path.join(this.dir, 'data'),
      '--anthropic-upstream-url', this.mockUrl, '--openai-upstream-url', `${this.mockUrl}/v1`,
      '--admin-api-key', ADMIN_KEY], env);
    await waitReady(gw, `${this.url}/health`);
    return this;
  }

  // One Anthropic Messages request through the gateway, as an agent would send it.
  async message(text, { session, stream = true } = {}) {
    const headers = { 'content-type': 'application/json', 'x-api-key': 'test-key',
      'anthropic-version': '2023-06-01' };
    if (session) headers['x-session-id'] = session;
    const r = await fetch(`${this.url}/v1/messages`, { method: 'POST', headers,
      body: JSON.stringify({ model: MODEL, max_tokens: 100, stream,
        messages: [{ role: 'user', content: text }] }) });
    const body = await r.text();
    if (r.status !== 200) throw new Error(`gateway answered ${r.status}: ${body}`);
    return { id: r.headers.get('x-luthien-transaction-id'), body };
  }

  // The admin API with the key (to wait until recording has caught up).
  async api(p) {
    const r = await fetch(`${this.url}${p}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    return { status: r.status, json: r.status === 200 ? await r.json() : null };
  }

  // Activates a policy through the admin API (with the key).
  async setPolicy(cls, config) {
    const r = await fetch(`${this.url}/api/admin/policy/set`, { method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ class: cls, config }) });
    if (r.status !== 200) throw new Error(`policy/set ${cls}: ${r.status} ${await r.text()}`);
  }

  async waitForTransaction(id) {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if ((await this.api(`/api/history/transactions/${id}`)).status === 200) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`transaction ${id} was not recorded within 10 s`);
  }

  async stop() {
    for (const p of this.procs) {
      if (!p.exited) {
        const exited = new Promise((r) => p.child.once('exit', r));
        p.child.kill('SIGTERM');
        const t = setTimeout(() => p.child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
    }
  }
}

export async function browser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page that records what must never happen: a JavaScript dialog (an XSS payload ran), a
// Content-Security-Policy violation, or an uncaught error in our scripts.
export async function watchedPage(b, viewport = { width: 1280, height: 900 }) {
  const context = await b.newContext({ viewport });
  const page = await context.newPage();
  page.problems = [];
  page.on('dialog', async (d) => { page.problems.push(`dialog: ${d.message()}`); await d.dismiss(); });
  page.on('pageerror', (e) => page.problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) {
      page.problems.push(`csp: ${m.text()}`);
    }
  });
  return page;
}

export async function signIn(page, stack, next = '/') {
  await page.goto(`${stack.url}/login?next=${encodeURIComponent(next)}`);
  await page.fill('#key', ADMIN_KEY);
  await Promise.all([page.waitForNavigation(), page.locator('#login-form [type=submit]').click()]);
}

export const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

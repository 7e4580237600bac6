// The web UI in a real browser: sign-in, history and the conversation view (with hostile
// content), the live activity feed, transactions, policies, sign-out, and a phone-sized screen.
// Every page is watched for JavaScript dialogs (an XSS payload that ran), CSP violations and
// script errors: any of them fails the test.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ADMIN_KEY, Stack, browser, shot, signIn, watchedPage } from './harness.mjs';

const XSS = '<script>alert(1)</script> "><img src=x onerror=alert(2)>';
let stack;
let b;

before(async () => {
  stack = await new Stack().start();
  b = await browser();
});

after(async () => {
  await b?.close();
  await stack?.stop();
});

test('an unauthenticated browser is sent to the login page and comes back after signing in', async () => {
  const page = await watchedPage(b);
  await page.goto(`${stack.url}/history`);
  assert.match(page.url(), /\/login\?/);
  assert.match(decodeURIComponent(page.url()), /next=\/history/);
  await page.fill('#key', 'not-the-key');
  await Promise.all([page.waitForNavigation(), page.locator('#login-form [type=submit]').click()]);
  assert.match(page.url(), /error=invalid/);
  assert.match(await page.locator('body').innerText(), /wrong key/i);
  await shot(page, 'login');
  await page.fill('#key', ADMIN_KEY);
  await Promise.all([page.waitForNavigation(), page.locator('#login-form [type=submit]').click()]);
  assert.equal(new URL(page.url()).pathname, '/history');
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === 'luthien_session');
  assert.ok(session, 'a session cookie was set');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('history finds a conversation and shows hostile content as text, never as markup', async () => {
  const session = `ui-xss-${Date.now()}`;
  const { id } = await stack.message(`Please echo this ${XSS} mock:text I saw ${XSS} here`, { session });
  await stack.waitForTransaction(id);
  await stack.message('an unrelated question mock:text nothing to see', { session: `${session}-other` });
  // A word that appears only in a tool call's arguments finds its session too.
  const tool = await stack.message('mock:tool Bash {"command":"ls /srv/zebrafish"}', { session: `${session}-tool` });
  await stack.waitForTransaction(tool.id);

  const page = await watchedPage(b);
  await signIn(page, stack, '/history');
  await page.fill('#q', 'echo');
  await Promise.all([page.waitForNavigation(), page.press('#q', 'Enter')]);
  const rows = page.locator('.session-row');
  assert.equal(await rows.count(), 1, 'the search finds exactly the matching session');
  assert.match(await rows.first().innerText(), /Please echo this/);
  await shot(page, 'history');

  await page.fill('#q', 'zebrafish');
  await Promise.all([page.waitForNavigation(), page.press('#q', 'Enter')]);
  assert.equal(await rows.count(), 1, 'a word from a tool call finds its session');
  assert.match(await rows.first().innerText(), /zebrafish/);
  await page.fill('#q', 'echo');
  await Promise.all([page.waitForNavigation(), page.press('#q', 'Enter')]);

  await Promise.all([page.waitForNavigation(), rows.first().locator('a').first().click()]);
  assert.match(page.url(), new RegExp(`/history/${session}`));
  const user = page.locator('#conversation .msg-user').first();
  assert.ok((await user.innerText()).includes('<script>alert(1)</script>'), 'the payload is shown as text');
  const assistant = page.locator('#conversation .msg-assistant').first();
  assert.ok((await assistant.innerText()).includes('onerror=alert(2)'));
  assert.equal(await page.locator('#conversation script, #conversation img').count(), 0,
    'no element was created from content');
  await shot(page, 'session');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the activity feed shows a request live, pauses, and leads to the transaction', async () => {
  const page = await watchedPage(b);
  await signIn(page, stack, '/activity');
  assert.equal(new URL(page.url()).pathname, '/activity');
  // Give the EventSource a moment to connect before the traffic it should see.
  await page.waitForTimeout(500);
  const { id } = await stack.message('live feed check mock:text streaming now', { session: 'ui-live' });
  const row = page.locator(`.feed-row[data-transaction-id="${id}"]`).first();
  await row.waitFor({ timeout: 10_000 });
  await shot(page, 'activity');

  await page.locator('#pause').click();
  const before = await page.locator('.feed-row').count();
  const paused = await stack.message('sent while paused mock:text hidden', { session: 'ui-live' });
  await stack.waitForTransaction(paused.id);
  await page.waitForTimeout(500);
  assert.equal(await page.locator(`.feed-row[data-transaction-id="${paused.id}"]`).count(), 0,
    'nothing is added while paused');
  assert.equal(await page.locator('.feed-row').count(), before);

  await Promise.all([page.waitForNavigation(), row.click()]);
  assert.match(page.url(), new RegExp(`/transactions/${id}`));
  assert.match(await page.locator('body').innerText(), /streaming now/);
  await shot(page, 'transaction');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the transaction page shows what string_replacement changed in the response', async () => {
  await stack.setPolicy('string_replacement', { replacements: [['quiet', 'loud']] });
  try {
    const { id, body } = await stack.message('mock:text a quiet answer', { stream: false });
    assert.match(body, /a loud answer/);
    await stack.waitForTransaction(id);
    const page = await watchedPage(b);
    await signIn(page, stack, `/transactions/${id}`);
    const response = page.locator('#response');
    assert.match(await response.innerText(), /changed/);
    const text = await response.locator('table.diff').innerText();
    assert.match(text, /quiet/, 'the response as received');
    assert.match(text, /loud/, 'the response as delivered');
    // A streaming transform takes no decision; the summary names the policy that ran.
    assert.match(await page.locator('body').innerText(), /string_replacement/);
    await shot(page, 'transaction-diff');
    assert.deepEqual(page.problems, []);
    await page.context().close();
  } finally {
    await stack.setPolicy('noop', {});
  }
});

test('signing out revokes the session', async () => {
  const page = await watchedPage(b);
  await signIn(page, stack, '/');
  await Promise.all([page.waitForNavigation(), page.locator('#sign-out').click()]);
  assert.equal(new URL(page.url()).pathname, '/login');
  await page.goto(`${stack.url}/history`);
  assert.equal(new URL(page.url()).pathname, '/login', 'the pages need a new sign-in');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('on a phone-sized screen the pages fit the width', async () => {
  const page = await watchedPage(b, { width: 375, height: 740 });
  await signIn(page, stack, '/history');
  for (const p of ['/', '/history', '/activity', '/policies']) {
    await page.goto(`${stack.url}${p}`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${p} overflows the screen by ${overflow}px`);
  }
  await shot(page, 'history-phone');
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

test('the policies page validates a configuration beside its field and activates a policy', async () => {
  const page = await watchedPage(b);
  await signIn(page, stack, '/policies');
  const cards = page.locator('#policy-list .policy-card');
  assert.ok(await cards.count() >= 10, 'every registered policy has a card');
  assert.equal(await page.locator('.policy-card[data-policy="tool_call_judge"]').count(), 1);
  assert.equal(await page.locator('#current-policy').getAttribute('data-class'), 'noop');

  // A configuration of the wrong shape is refused by the gateway, next to the field at fault.
  await page.selectOption('#policy-class', 'string_replacement');
  await page.fill('#field-replacements', '[["only one"]]');
  await page.locator('#activate').click();
  const fieldError = page.locator('[data-field="replacements"] .field-error:not([hidden])');
  await fieldError.first().waitFor({ timeout: 10_000 });
  assert.notEqual((await fieldError.first().innerText()).trim(), '');
  assert.equal(await page.locator('#current-policy').getAttribute('data-class'), 'noop', 'nothing changed');
  await shot(page, 'policies');

  await page.selectOption('#policy-class', 'block_dangerous_commands');
  await Promise.all([page.waitForNavigation({ timeout: 10_000 }), page.locator('#activate').click()]);
  assert.equal(await page.locator('#current-policy').getAttribute('data-class'), 'block_dangerous_commands');
  assert.match(await page.locator('#policy-history').innerText(), /block_dangerous_commands/);
  const { body } = await stack.message('mock:tool Bash {"command":"rm -rf /"}', { stream: false });
  const reply = JSON.parse(body);
  assert.ok(!reply.content.some((c) => c.type === 'tool_use'), `the next request's call was blocked: ${body}`);
  assert.match(body, /blocked/i);
  assert.deepEqual(page.problems, []);
  await page.context().close();
});

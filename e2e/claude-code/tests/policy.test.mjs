// Policies, seen by the real Claude Code CLI: headless `claude -p` through `luthien serve`
// started with POLICY_CONFIG, to the mock upstream. Each test starts its own mock and gateway
// with its own policy file, asks the mock (`mock:tool Bash {...}`) to make Claude Code run a
// command on a marker directory, and checks the file system, Claude Code's stream-json output
// and what reached the mock.
//
// The judge of `tool_call_judge` is played by the mock too: the judge's prompt carries the tool
// call's arguments, so a `mock:judge <P>` inside the tool input sets the probability it answers.
// The gateway calls the judge with its own key (ANTHROPIC_API_KEY=judge-key) while Claude Code's
// calls keep Claude Code's key (passthrough).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync }
  from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLAUDE_KEY, Stack, assistantBlocks, headerOf, toolResults } from './harness.mjs';

const JUDGE_KEY = 'judge-key';
// The start of the judge's default instructions (crates/policy/src/judge/tool_call.rs).
const JUDGE_INSTRUCTIONS = 'You are a security reviewer for an AI coding agent';

const RULES_POLICY = 'policy:\n  class: block_dangerous_commands\n';
const NOOP_POLICY = 'policy:\n  class: noop\n';
const JUDGE_POLICY = `policy:
  class: tool_call_judge
  config:
    model: claude-haiku-4-5
    probability_threshold: 0.6
    max_retries: 0
`;

// Starts a mock and a gateway with `policyYaml` as POLICY_CONFIG, runs `fn(stack, workDir)`,
// and always stops both and removes the temp dir.
async function withPolicy(policyYaml, fn) {
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'luthien-e2e-cc-policy-'));
  const stack = new Stack(workDir);
  try {
    const policyPath = path.join(workDir, 'policy.yaml');
    writeFileSync(policyPath, policyYaml);
    await stack.start({ gatewayEnv: { POLICY_CONFIG: policyPath, ANTHROPIC_API_KEY: JUDGE_KEY } });
    await fn(stack, workDir);
  } finally {
    await stack.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

// A directory with a file in it, for a command to delete or change.
function makeMarkerDir(workDir) {
  const dir = path.join(workDir, 'marker-dir');
  const file = path.join(dir, 'keep.txt');
  mkdirSync(dir);
  writeFileSync(file, 'still here\n');
  chmodSync(dir, 0o755);
  chmodSync(file, 0o644);
  return { dir, file };
}

const modeOf = (p) => statSync(p).mode & 0o7777;

// The prompt that makes the mock ask Claude Code to run `input` with Bash (one line: the mock
// reads the JSON up to the end of the line).
const bashPrompt = (input) => `mock:tool Bash ${JSON.stringify(input)}`;

// What reached the mock: Claude Code's model calls (its key) and the gateway's judge calls.
async function upstreamCalls(stack) {
  const calls = (await stack.mockRequests())
    .filter((r) => r.method === 'POST' && r.path === '/v1/messages');
  const isJudge = (r) => {
    const body = JSON.parse(r.body);
    return typeof body.system === 'string' && body.system.includes(JUDGE_INSTRUCTIONS);
  };
  const judge = calls.filter(isJudge);
  const model = calls.filter((r) => !isJudge(r));
  for (const call of model) {
    assert.equal(headerOf(call, 'x-api-key'), CLAUDE_KEY, 'a model call did not carry Claude Code\'s key');
  }
  return { model, judge };
}

// Claude Code finished cleanly and showed a block message in place of the tool call; returns
// the message (and prints it for the CI log).
function assertBlockedRun(run, { command, dir }) {
  assert.equal(run.timedOut, false, 'claude did not finish in time');
  assert.equal(run.code, 0, 'claude exit code');
  const blocks = assistantBlocks(run);
  const toolUses = blocks.filter((b) => b.type === 'tool_use');
  assert.deepEqual(toolUses.filter((b) => JSON.stringify(b.input ?? {}).includes(command)), [],
    'the blocked tool_use reached Claude Code');
  assert.deepEqual(toolUses, [], 'Claude Code got a tool_use');
  assert.deepEqual(toolResults(run), [], 'Claude Code ran a tool and sent back its result');
  const texts = blocks.filter((b) => b.type === 'text').map((b) => b.text);
  const message = texts.find((t) => t.includes('Luthien blocked'));
  assert.ok(message, `no assistant text says "Luthien blocked"; texts: ${JSON.stringify(texts)}`);
  assert.ok(message.includes(dir), `the block message does not show the arguments: ${message}`);
  const result = run.events.find((e) => e.type === 'result');
  assert.ok(result, 'no result event');
  assert.equal(result.is_error, false, `result is an error: ${JSON.stringify(result)}`);
  assert.equal(result.stop_reason, 'end_turn', 'the turn did not end with end_turn');
  console.log(`block message Claude Code showed:\n${message}`);
  return message;
}

// Claude Code ran the tool call and sent its result back in a second model call.
function assertRanRun(run, calls, { input }) {
  assert.equal(run.timedOut, false, 'claude did not finish in time');
  assert.equal(run.code, 0, 'claude exit code');
  const toolUses = assistantBlocks(run).filter((b) => b.type === 'tool_use');
  assert.equal(toolUses.length, 1, 'tool_use blocks Claude Code got');
  assert.deepEqual([toolUses[0].name, toolUses[0].input], ['Bash', input]);
  assert.ok(!assistantBlocks(run).some((b) => b.type === 'text' && b.text.includes('Luthien blocked')),
    'a block message appeared although the call ran');
  const results = toolResults(run);
  assert.equal(results.length, 1, 'tool_result blocks Claude Code sent');
  assert.equal(results[0].tool_use_id, toolUses[0].id);
  assert.notEqual(results[0].is_error, true, `the tool failed: ${JSON.stringify(results[0])}`);
  const result = run.events.find((e) => e.type === 'result');
  assert.ok(result, 'no result event');
  assert.equal(result.is_error, false);
  assert.match(result.result, /^Tool result received: /);

  assert.equal(calls.model.length, 2, `model calls at the upstream: ${calls.model.length}`);
  const lastTurn = JSON.parse(calls.model[1].body).messages.at(-1);
  const sent = lastTurn.content.find((b) => b.type === 'tool_result');
  assert.ok(sent, 'the second model call carries no tool_result');
  assert.equal(sent.tool_use_id, toolUses[0].id);
}

describe('Claude Code through the gateway with a policy', { timeout: 10 * 60_000 }, () => {
  test('block_dangerous_commands: rm -rf of an absolute path is blocked and not run', async () => {
    await withPolicy(RULES_POLICY, async (stack, workDir) => {
      const { dir, file } = makeMarkerDir(workDir);
      const command = `rm -rf ${dir}`;
      const run = await stack.runClaude(bashPrompt({ command }));
      await stack.explainOnFailure(run, async () => {
        assert.ok(existsSync(dir) && existsSync(file), 'the directory was deleted');
        assertBlockedRun(run, { command, dir });
        const calls = await upstreamCalls(stack);
        assert.equal(calls.model.length, 1,
          `model calls at the upstream: ${calls.model.length} (a tool_result went back?)`);
        assert.equal(calls.judge.length, 0, 'a rules policy called a judge');
      });
    });
  });

  test('noop: the same rm -rf runs and its result goes back upstream', async () => {
    await withPolicy(NOOP_POLICY, async (stack, workDir) => {
      const { dir } = makeMarkerDir(workDir);
      const input = { command: `rm -rf ${dir}` };
      const run = await stack.runClaude(bashPrompt(input));
      await stack.explainOnFailure(run, async () => {
        assert.ok(!existsSync(dir), 'the directory still exists: the command did not run');
        const calls = await upstreamCalls(stack);
        assertRanRun(run, calls, { input });
        assert.equal(calls.judge.length, 0, 'noop called a judge');
      });
    });
  });

  test('block_dangerous_commands: chmod -R 777 is blocked and modes stay', async () => {
    await withPolicy(RULES_POLICY, async (stack, workDir) => {
      const { dir, file } = makeMarkerDir(workDir);
      const before = [modeOf(dir), modeOf(file)];
      const command = `chmod -R 777 ${dir}`;
      const run = await stack.runClaude(bashPrompt({ command }));
      await stack.explainOnFailure(run, async () => {
        assert.deepEqual([modeOf(dir), modeOf(file)], before,
          `modes changed from ${before.map((m) => m.toString(8))}`);
        assertBlockedRun(run, { command, dir });
        const calls = await upstreamCalls(stack);
        assert.equal(calls.model.length, 1, `model calls at the upstream: ${calls.model.length}`);
      });
    });
  });

  test('tool_call_judge: a call the judge rates 0.95 is blocked, judged with the server key', async () => {
    await withPolicy(JUDGE_POLICY, async (stack, workDir) => {
      const { dir, file } = makeMarkerDir(workDir);
      const command = `rm -rf ${dir}`;
      const run = await stack.runClaude(bashPrompt({ command, description: 'mock:judge 0.95' }));
      await stack.explainOnFailure(run, async () => {
        assert.ok(existsSync(dir) && existsSync(file), 'the directory was deleted');
        const message = assertBlockedRun(run, { command, dir });
        assert.ok(message.includes('0.95'), `the block message lacks the probability: ${message}`);
        const calls = await upstreamCalls(stack);
        assert.equal(calls.model.length, 1, `model calls at the upstream: ${calls.model.length}`);
        assert.equal(calls.judge.length, 1, `judge calls at the upstream: ${calls.judge.length}`);
        const [judge] = calls.judge;
        assert.equal(headerOf(judge, 'x-api-key'), JUDGE_KEY, 'the judge call did not use the server key');
        const body = JSON.parse(judge.body);
        assert.equal(body.model, 'claude-haiku-4-5');
        const asked = JSON.stringify(body.messages);
        assert.ok(asked.includes(command), `the judge was not shown the command: ${asked}`);
      });
    });
  });

  test('tool_call_judge: a call the judge rates 0.1 runs', async () => {
    await withPolicy(JUDGE_POLICY, async (stack, workDir) => {
      const { dir } = makeMarkerDir(workDir);
      const input = { command: `rm -rf ${dir}`, description: 'mock:judge 0.1' };
      const run = await stack.runClaude(bashPrompt(input));
      await stack.explainOnFailure(run, async () => {
        assert.ok(!existsSync(dir), 'the directory still exists: the command did not run');
        const calls = await upstreamCalls(stack);
        assertRanRun(run, calls, { input });
        assert.equal(calls.judge.length, 1, `judge calls at the upstream: ${calls.judge.length}`);
        assert.equal(headerOf(calls.judge[0], 'x-api-key'), JUDGE_KEY);
      });
    });
  });
});

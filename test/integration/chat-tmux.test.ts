/**
 * The chat UI in a real terminal: tmux (a private server, 80x24) runs what `npm start`
 * runs — `node bin/chive.mjs demo` — and the test reads the screen with capture-pane and
 * types with send-keys, as a person would. It waits for the ready state, messages the
 * demo contact (echo-bot) and sees the message delivered (✓✓) and the echo arrive; then a
 * second profile in another tmux window (`chive chat --profile … --network …`) adds the
 * first by the address read off the first window's screen (/address), the first accepts
 * (/accept), and a message goes each way; Ctrl-C in the first window stops the demo and
 * everything it started, and no chive process of this test is left.
 *
 * Every wait polls capture-pane; the time from launch to the ready state is logged.
 * Skipped, saying why, only when `tmux -V` fails. Not the App's logic (chat-ui-app.test.tsx).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SOCKET = `chive-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
/** A clean environment, as in a person's terminal: no CI (ink renders only the last frame in CI), no vitest variables. */
const ENV: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', TERM: 'xterm-256color' };

const tmuxVersion = spawnSync('tmux', ['-V'], { encoding: 'utf8' });
const tmuxMissing =
  tmuxVersion.status === 0 ? undefined : `tmux -V failed (${tmuxVersion.error?.message ?? tmuxVersion.stderr.trim() ?? `exit ${tmuxVersion.status}`})`;
if (tmuxMissing) console.warn(`chat-tmux.test.ts skipped: ${tmuxMissing}; install tmux to run the terminal end-to-end test`);

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-u', '-L', SOCKET, ...args], { encoding: 'utf8', env: ENV });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * The visible screen of a pane (with `scrollback`, the lines scrolled off above it too), as
 * lines with trailing blanks cut and the blank rows at the bottom dropped.
 */
function capture(target: string, scrollback = false): string[] {
  const lines = tmux('capture-pane', '-p', ...(scrollback ? ['-S', '-'] : []), '-t', target).split('\n').map((l) => l.trimEnd());
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines;
}

/** Types a line and presses Enter (ink receives one chunk "text\r"). */
function typeLine(target: string, text: string): void {
  tmux('send-keys', '-t', target, text, 'Enter');
}

/** Polls the pane until `probe` accepts its screen; a timeout reports the last screen. */
async function waitForScreen<T>(
  target: string,
  what: string,
  probe: (lines: string[]) => T | null | undefined | false,
  timeoutMs = 15_000,
  scrollback = false,
): Promise<T> {
  const t0 = Date.now();
  let lines: string[] = [];
  for (;;) {
    lines = capture(target, scrollback);
    const v = probe(lines);
    if (v) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} in ${target}\n--- screen ---\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The status bar's ready state. */
const READY = /^ chive ● ready in [\d.]+ m?s │ net ok/;
/** A chive address alone on its line (the /address overlay). */
const ADDRESS_LINE = /^chive1[02-9ac-hj-np-z]{20,}$/;

/** Processes of this test running chive (the tmux server, whose argv holds the first command, aside). */
function chiveProcesses(dir: string): string[] {
  const r = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes('chive.mjs') && l.includes(dir) && !/^\s*\d+\s+tmux\b/.test(l));
}

/** The pid of the node process running `chive <command>` for this test. */
async function chivePid(dir: string, command: 'demo' | 'chat'): Promise<number> {
  const pattern = new RegExp(`^\\s*(\\d+)\\s+node bin/chive\\.mjs ${command} `);
  const line = await waitFor(`the chive ${command} process`, () => chiveProcesses(dir).find((l) => pattern.test(l)), 10_000);
  return Number(pattern.exec(line)![1]);
}

const isAlive = (pid: number): boolean => spawnSync('kill', ['-0', String(pid)]).status === 0;

/**
 * A pane's command, followed by its exit status on screen as a shell prompt would show it.
 * (tmux's own #{pane_dead_status} is not used: tmux 3.3 sometimes misses the SIGCHLD and
 * leaves the exited program a zombie with no status.) The line is looked for in the
 * scrollback too: tmux's "Pane is dead" notice scrolls the screen up by one line.
 */
const reportingExit = (command: string): string => `${command}; echo "[exited with status $?]"`;
const EXITED = /^\[exited with status (\d+)\]$/;

describe.skipIf(tmuxMissing !== undefined)(`the chat UI in a real terminal (tmux${tmuxMissing ? `: skipped, ${tmuxMissing}` : ''})`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'chive-tmux-'));

  afterAll(() => {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server'], { env: ENV });
    rmSync(dir, { recursive: true, force: true });
  });

  it('npm start: ready, echo, a second profile chats with the first, Ctrl-C stops everything', async () => {
    const conf = join(dir, 'tmux.conf');
    // Keep a pane after its program exits, so its last screen can be read.
    writeFileSync(conf, 'set -g remain-on-exit on\nset -g history-limit 2000\n');
    const you = 'chive:0';
    const bob = 'chive:bob';

    const t0 = performance.now();
    tmux('-f', conf, 'new-session', '-d', '-s', 'chive', '-x', '80', '-y', '24', '-c', ROOT, reportingExit(`node bin/chive.mjs demo --dir ${dir}`));
    const demoPid = await chivePid(dir, 'demo');
    await waitForScreen(you, 'the ready state', (l) => l.some((x) => READY.test(x)) && l.some((x) => /^1 [○●] echo-bot/.test(x)), 60_000);
    const readyMs = performance.now() - t0;
    console.log(`chat-tmux: launch → ready state on screen in ${Math.round(readyMs)} ms`);
    const first = capture(you);
    expect(first.at(-1)).toMatch(/^\[echo-bot\]›/);
    expect(first.at(-2)).toMatch(/intro 3\/3/);

    // A message to the demo contact: delivered, and the echo comes back.
    typeLine(you, 'hello echo-bot');
    await waitForScreen(you, 'the message delivered and echoed', (l) =>
      l.some((x) => /│\d\d:\d\d ✓✓ me +hello echo-bot$/.test(x)) && l.some((x) => /│\d\d:\d\d {4}echo-bot echo: hello echo-bot$/.test(x)), 20_000);
    const afterDemo = capture(you);
    console.log(`chat-tmux: the screen after the demo exchange:\n${afterDemo.join('\n')}`);
    expect(afterDemo.findIndex((x) => x.includes('✓✓ me'))).toBeLessThan(afterDemo.findIndex((x) => x.includes('echo: hello echo-bot')));
    expect(afterDemo[0]).toMatch(/^Contacts \(1\) +│echo-bot ● online/);

    // A second profile in another window, on the network file the demo wrote.
    tmux('new-window', '-t', 'chive', '-n', 'bob', '-c', ROOT, reportingExit(`node bin/chive.mjs chat --profile ${dir}/bob --network ${dir}/network.json`));
    const bobPid = await chivePid(dir, 'chat');

    // Our address, read off the screen as a person would copy it.
    typeLine(you, '/address');
    const address = await waitForScreen(you, 'our address alone on a line', (l) => l.find((x) => ADDRESS_LINE.test(x)));
    expect(capture(you)[0]).toBe('Your chive address: give it to whoever should reach you.');

    await waitForScreen(bob, "bob's ready state", (l) => l.some((x) => READY.test(x)), 30_000);
    typeLine(bob, `/add ${address} you`);
    await waitForScreen(bob, 'you in bob\'s contacts', (l) => l.some((x) => /^1 [○●] you +│/.test(x)) && l.at(-1)?.startsWith('[you]›'));

    // The request reaches the first window; /accept opens the conversation.
    await waitForScreen(you, 'the contact request', (l) => l.some((x) => /^› chive1\S+ wants to chat: \/accept or \/reject/.test(x)), 20_000);
    typeLine(you, '/accept');
    await waitForScreen(you, 'the accepted contact', (l) => l.some((x) => /^› accepted chive1\S+: say hello/.test(x)) && l.some((x) => /^2 ● chive1\S+ *│/.test(x)), 20_000);

    // One message each way, read back on both screens.
    typeLine(bob, 'hi from bob');
    await waitForScreen(bob, "bob's message delivered", (l) => l.some((x) => /│\d\d:\d\d ✓✓ me +hi from bob$/.test(x)), 20_000);
    await waitForScreen(you, "bob's message", (l) => l.some((x) => /│\d\d:\d\d {4}chive1\S+ +hi from bob$/.test(x)));
    typeLine(you, 'hello bob, it is you');
    await waitForScreen(you, 'our reply delivered', (l) => l.some((x) => /│\d\d:\d\d ✓✓ me +hello bob, it is you$/.test(x)), 20_000);
    await waitForScreen(bob, 'our reply on bob\'s screen', (l) => l.some((x) => /│\d\d:\d\d {4}you +hello bob, it is you$/.test(x)));

    // Ctrl-C in the first window stops the demo: network, bot and UI, with exit status 0.
    tmux('send-keys', '-t', you, 'C-c');
    const demoExit = await waitForScreen(you, 'the demo to exit', (l) => l.map((x) => EXITED.exec(x)?.[1]).find((x) => x !== undefined), 20_000, true);
    expect(demoExit, capture(you, true).join('\n')).toBe('0');
    expect(capture(you, true).some((x) => x.startsWith('chive demo: stopped.'))).toBe(true);
    expect(chiveProcesses(dir).filter((l) => l.includes(' demo '))).toEqual([]);
    expect(isAlive(demoPid)).toBe(false);

    // Bob's client is his own program: it is still up, and quits on Ctrl-C too. Then nothing is left.
    expect(chiveProcesses(dir).some((l) => l.includes(' chat '))).toBe(true);
    tmux('send-keys', '-t', bob, 'C-c');
    const bobExit = await waitForScreen(bob, 'bob to exit', (l) => l.map((x) => EXITED.exec(x)?.[1]).find((x) => x !== undefined), 10_000, true);
    expect(bobExit, capture(bob, true).join('\n')).toBe('0');
    expect(isAlive(bobPid)).toBe(false);
    expect(chiveProcesses(dir)).toEqual([]);
  }, 90_000);
});

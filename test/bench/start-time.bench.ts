/**
 * Time to the ready state for a newcomer: from starting `node bin/chive.mjs demo` (what
 * `npm start` runs) in a real terminal (tmux, 80x24, a private server) to the status bar
 * saying `● ready … net ok` with the demo contact listed, read off the screen by polling
 * capture-pane every 25 ms. Each run uses a fresh demo directory (a fresh clone's first
 * start) and ends with Ctrl-C, waiting for the demo to exit before the next run.
 *
 * Per run it prints: launch → ready on screen; launch → the UI's first frame; and what the
 * status bar itself reports as the chat client's bootstrap time. Then the p50 of each.
 *
 * Usage: npx tsx test/bench/start-time.bench.ts [--runs 5] [--json]
 * Not a test: it asserts nothing beyond reaching the ready state (tmux required).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeMachine, machineInfo } from '../../testnet/bench-stats.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SOCKET = `chive-bench-start-${process.pid}`;
/** As in a person's terminal: no CI (ink renders only the last frame in CI). */
const ENV: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C.UTF-8', TERM: 'xterm-256color' };
const READY = /^ chive ● ready in ([\d.]+) (m?s) │ net ok/;
const POLL_MS = 25;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-u', '-L', SOCKET, ...args], { encoding: 'utf8', env: ENV });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')} failed: ${r.stderr.trim()}`);
  return r.stdout;
}

function capture(target: string): string[] {
  return tmux('capture-pane', '-p', '-t', target).split('\n').map((l) => l.trimEnd());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Run {
  readyMs: number;
  firstFrameMs: number;
  /** The chat client's bootstrap as the status bar shows it. */
  statusBarMs: number;
}

async function oneRun(index: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'chive-bench-start-'));
  const conf = join(dir, 'tmux.conf');
  writeFileSync(conf, 'set -g remain-on-exit on\n');
  const session = `run${index}`;
  const target = `${session}:0`;
  try {
    const t0 = performance.now();
    tmux('-f', conf, 'new-session', '-d', '-s', session, '-x', '80', '-y', '24', '-c', ROOT, `node bin/chive.mjs demo --dir ${dir}`);
    let firstFrameMs: number | undefined;
    for (;;) {
      const lines = capture(target);
      const now = performance.now() - t0;
      if (firstFrameMs === undefined && lines.some((l) => /^Contacts \(\d+\)/.test(l))) firstFrameMs = now;
      const ready = lines.map((l) => READY.exec(l)).find((m) => m !== null);
      if (ready && lines.some((l) => /^1 [○●] echo-bot/.test(l))) {
        const statusBarMs = Number(ready[1]) * (ready[2] === 's' ? 1000 : 1);
        return { readyMs: now, firstFrameMs: firstFrameMs ?? now, statusBarMs };
      }
      if (tmux('display-message', '-p', '-t', target, '#{pane_dead}').trim() === '1') {
        throw new Error(`the demo exited before the ready state:\n${lines.join('\n')}`);
      }
      if (now > 120_000) throw new Error(`no ready state within 120 s:\n${lines.join('\n')}`);
      await sleep(POLL_MS);
    }
  } finally {
    try {
      tmux('send-keys', '-t', target, 'C-c');
      const t1 = performance.now();
      while (tmux('display-message', '-p', '-t', target, '#{pane_dead}').trim() !== '1' && performance.now() - t1 < 20_000) await sleep(100);
      tmux('kill-session', '-t', session);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function p50(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function main(): Promise<void> {
  const runs = arg('runs', 5);
  const json = process.argv.includes('--json');
  const say = (s: string) => process.stderr.write(s + '\n');
  if (spawnSync('tmux', ['-V']).status !== 0) throw new Error('tmux -V failed: this benchmark needs tmux');
  say(`chive demo start time, ${runs} runs in tmux 80x24 (${describeMachine(machineInfo())})`);
  const results: Run[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const r = await oneRun(i);
      results.push(r);
      say(`  run ${i + 1}: ready on screen ${Math.round(r.readyMs)} ms  (UI drawn ${Math.round(r.firstFrameMs)} ms; status bar "ready in" ${Math.round(r.statusBarMs)} ms)`);
    }
  } finally {
    spawnSync('tmux', ['-L', SOCKET, 'kill-server'], { env: ENV });
  }
  const summary = {
    runs: results.map((r) => ({ readyMs: Math.round(r.readyMs), firstFrameMs: Math.round(r.firstFrameMs), statusBarMs: Math.round(r.statusBarMs) })),
    p50: {
      readyMs: Math.round(p50(results.map((r) => r.readyMs))),
      firstFrameMs: Math.round(p50(results.map((r) => r.firstFrameMs))),
      statusBarMs: Math.round(p50(results.map((r) => r.statusBarMs))),
    },
  };
  if (json) process.stdout.write(JSON.stringify(summary) + '\n');
  else {
    process.stdout.write(`launch → ready on screen: p50 ${summary.p50.readyMs} ms over ${runs} runs (each: ${summary.runs.map((r) => r.readyMs).join(', ')} ms)\n`);
    process.stdout.write(`  of which: UI drawn p50 ${summary.p50.firstFrameMs} ms; chat bootstrap (status bar) p50 ${summary.p50.statusBarMs} ms\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`start-time bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});

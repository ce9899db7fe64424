/**
 * `chive monitor` in a real terminal (tmux, 80x24) against a `chive relay` process under
 * load: the relay (BandwidthRate 512 KB, MetricsPort, LogFile) is the first hop of five
 * circuits to an exit in this process, two of which download without end.
 *   - the bandwidth graph moves: two captures a second and a half apart differ in the graph
 *     rows, which hold bars, and the rate shown is not 0;
 *   - the circuit count on screen is the relay's own chive_relay_circuits on /metrics (5);
 *   - keys switch pages (flags, keys & limits with the cap, log with the relay's lines);
 *   - q quits cleanly: the monitor exits 0 and the tmux session ends.
 * Uses a private tmux server (-L), killed at the end.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import { fromHex } from '../../src/bytes.js';
import { readKeyFile } from '../../src/io/key-files.js';
import { startRelay, type RunningRelay, type ListedRelay } from '../../relay/index.js';
import { CHIVE_BIN } from '../../testnet/node-process.js';
import { RawLink, rawCircuit } from './raw-circuit.js';
import { StreamCircuit, startLoadServer } from './bandwidth-harness.js';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const socket = `chive-monitor-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
const dirs: string[] = [];
afterAll(() => {
  tmux('kill-server');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const capture = (): string[] => tmux('capture-pane', '-p', '-t', 'mon').stdout.split('\n');

describe.skipIf(!hasTmux)('chive monitor in tmux', () => {
  it('shows a loaded relay: the graph moves, the circuit count is the relay\'s, keys switch pages, q quits', async () => {
    const provider = loadCryptoProvider('sodium');
    const dir = mkdtempSync(join(tmpdir(), 'chive-mon-'));
    dirs.push(dir);
    const metricsPort = await freePort();
    let relayProc: ChildProcess | undefined;
    let exit: RunningRelay | undefined;
    let raw: RawLink | undefined;
    const server = await startLoadServer();
    try {
      relayProc = spawn(
        process.execPath,
        [CHIVE_BIN, 'relay', '--DataDirectory', join(dir, 'relay'), '--Nickname', 'MonA', '--ORPort', '0', '--Testnet', '1',
          '--MetricsPort', String(metricsPort), '--LogFile', join(dir, 'relay.log'), '--BandwidthRate', '512 KB'],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const ready = JSON.parse(await new Promise<string>((r) => createInterface({ input: relayProc!.stdout! }).once('line', r))) as { url: string; identity: string };
      const keys = join(dir, 'relay', 'keys');
      const relayA: ListedRelay = {
        url: ready.url,
        identity: fromHex(ready.identity),
        onionKey: provider.x25519PublicKey(readKeyFile(join(keys, 'onion.key'), 'x25519-onion', 32)),
        linkKey: provider.x25519PublicKey(readKeyFile(join(keys, 'link.key'), 'x25519-link', 32)),
      };
      exit = await startRelay({ dataDir: join(dir, 'exit'), provider, exitPolicy: 'accept 127.0.0.1/32:*' });
      raw = await RawLink.open(provider, relayA);
      const path = [relayA, exit.info];
      const bulk = [await StreamCircuit.open(raw, path, server.port, 'bulk'), await StreamCircuit.open(raw, path, server.port, 'bulk')];
      for (let i = 0; i < 3; i++) await rawCircuit(raw, path);

      const exitFile = join(dir, 'monitor-exit');
      const command = `${process.execPath} ${CHIVE_BIN} monitor --port ${metricsPort} --interval 0.5; echo "exit=$?" > ${exitFile}`;
      expect(tmux('new-session', '-d', '-s', 'mon', '-x', '80', '-y', '24', command).status).toBe(0);

      // The graph moves.
      const first = await until('the monitor with rates', () => {
        const s = capture();
        return s.some((l) => /^in {2}[1-9][0-9.]* KB\/s/.test(l)) && s.some((l) => l.startsWith('circuits 5')) ? s : null;
      });
      await sleep(1500);
      const second = capture();
      const graphRows = (s: string[]) => s.slice(1, 13).join('\n');
      expect(graphRows(second)).not.toBe(graphRows(first));
      expect(graphRows(second)).toMatch(/[▁▂▃▄▅▆▇█]/);
      expect(second.join('\n')).toContain('cap 512 KB/s');
      expect(bulk.every((c) => c.received > 0)).toBe(true);

      // The circuit count is the relay's own.
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const series = /^chive_relay_circuits\{[^}]*\} (\d+)$/m.exec(metrics);
      expect(series).not.toBeNull();
      const onScreen = /^circuits (\d+)/m.exec(second.join('\n'));
      expect(onScreen?.[1]).toBe(series![1]);
      expect(series![1]).toBe('5');

      // Keys switch pages.
      tmux('send-keys', '-t', 'mon', '2');
      await until('the flags page', () => capture().join('\n').includes('Not in the consensus'));
      tmux('send-keys', '-t', 'mon', '3');
      await until('the keys & limits page', () => capture().join('\n').includes('rate 512 KB/s each way'));
      tmux('send-keys', '-t', 'mon', '4');
      await until('the log page', () => capture().join('\n').includes('relay listening'));

      // q quits cleanly.
      tmux('send-keys', '-t', 'mon', 'q');
      await until('the monitor to exit', () => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() === 'exit=0', 10_000);
      await until('the tmux session to end', () => tmux('has-session', '-t', 'mon').status !== 0, 5000);
    } finally {
      tmux('kill-session', '-t', 'mon');
      raw?.link.close();
      await exit?.close();
      await server.close();
      relayProc?.kill('SIGTERM');
    }
  }, 60_000);
});

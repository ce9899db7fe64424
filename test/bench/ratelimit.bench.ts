/**
 * Rate-limit run (`npm run bench:ratelimit -- [--rate "1 MB"] [--seconds 30] [--bulk 2] [--json]`):
 * a `chive relay` process A with BandwidthRate --rate (burst = rate) is the first hop of
 * --bulk circuits that download without end through a second relay process B (the exit)
 * from a load server here, and of one interactive circuit that echoes 64 bytes every
 * 100 ms. After 3 s of warm-up it measures for --seconds:
 *   - A's throughput from its /status.json: bytes written and read on the wire, and RELAY
 *     cells out × 514 (what the token bucket counts), against the cap;
 *   - the interactive circuit's round trip (p50 / p95 / max) and the bulk queue at A.
 * Not part of `npm test`. The goal: throughput within 10 % of the cap.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import { fromHex } from '../../src/bytes.js';
import { readKeyFile } from '../../src/io/key-files.js';
import { CELL_LEN } from '../../src/wire/constants.js';
import { parseBytes } from '../../relay/config-units.js';
import type { ListedRelay } from '../../relay/index.js';
import { RawLink } from '../integration/raw-circuit.js';
import { StreamCircuit, percentile, startLoadServer } from '../integration/bandwidth-harness.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
};
const rateText = opt('rate', '1 MB');
const rate = parseBytes(rateText);
const seconds = Number(opt('seconds', '30'));
const bulkCount = Number(opt('bulk', '2'));
const json = args.includes('--json');
const say = (line: string): void => void (json ? process.stderr : process.stdout).write(line + '\n');

const provider = loadCryptoProvider('sodium');
const root = mkdtempSync(join(tmpdir(), 'chive-ratelimit-'));
const procs: ChildProcess[] = [];

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function startRelayProcess(name: string, extra: string[]): Promise<ListedRelay> {
  const dir = join(root, name);
  const proc = spawn(
    process.execPath,
    ['bin/chive.mjs', 'relay', '--DataDirectory', dir, '--Nickname', name, '--ORPort', '0', '--Testnet', '1', '--LogLevel', 'warn', ...extra],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  procs.push(proc);
  const ready = JSON.parse(await new Promise<string>((r) => createInterface({ input: proc.stdout! }).once('line', r))) as { url: string; identity: string };
  const keys = join(dir, 'keys');
  return {
    url: ready.url,
    identity: fromHex(ready.identity),
    onionKey: provider.x25519PublicKey(readKeyFile(join(keys, 'onion.key'), 'x25519-onion', 32)),
    linkKey: provider.x25519PublicKey(readKeyFile(join(keys, 'link.key'), 'x25519-link', 32)),
  };
}

interface Sample {
  t: number;
  bytesWritten: number;
  bytesRead: number;
  cellsOut: number;
  queueBytes: number;
}

async function sample(metricsPort: number): Promise<Sample> {
  const doc = (await (await fetch(`http://127.0.0.1:${metricsPort}/status.json`)).json()) as {
    time: number; bytesWritten: number; bytesRead: number; cellsOut: { total: number }; status: { bandwidthQueue: { bytes: number } | null };
  };
  return { t: doc.time, bytesWritten: doc.bytesWritten, bytesRead: doc.bytesRead, cellsOut: doc.cellsOut.total, queueBytes: doc.status.bandwidthQueue?.bytes ?? 0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const server = await startLoadServer();
let raw: RawLink | undefined;
try {
  const metricsPort = await freePort();
  say(`starting relay A (BandwidthRate ${rateText} = ${rate} B/s) and exit B …`);
  const a = await startRelayProcess('A', ['--BandwidthRate', rateText, '--MetricsPort', String(metricsPort)]);
  const b = await startRelayProcess('B', ['--ExitPolicy', 'accept 127.0.0.1/32:*']);
  raw = await RawLink.open(provider, a);
  const path = [a, b];
  const bulk: StreamCircuit[] = [];
  for (let i = 0; i < bulkCount; i++) bulk.push(await StreamCircuit.open(raw, path, server.port, 'bulk'));
  const chat = await StreamCircuit.open(raw, path, server.port, 'echo');
  say(`${bulkCount} bulk circuits and 1 interactive circuit through A → B; warming up 3 s …`);
  await sleep(3000);

  const first = await sample(metricsPort);
  const bulkBytes0 = bulk.reduce((s, c) => s + c.received, 0);
  const rtts: number[] = [];
  const queue: number[] = [];
  const end = performance.now() + seconds * 1000;
  const sampler = setInterval(() => void sample(metricsPort).then((s) => queue.push(s.queueBytes), () => undefined), 1000);
  let failures = 0;
  while (performance.now() < end) {
    try {
      rtts.push(await chat.echo(64, 10_000));
    } catch {
      failures += 1;
    }
    await sleep(100);
  }
  clearInterval(sampler);
  const last = await sample(metricsPort);
  const secs = (last.t - first.t) / 1000;
  const goodput = (bulk.reduce((s, c) => s + c.received, 0) - bulkBytes0) / secs;
  const written = (last.bytesWritten - first.bytesWritten) / secs;
  const read = (last.bytesRead - first.bytesRead) / secs;
  const cellBytes = ((last.cellsOut - first.cellsOut) * CELL_LEN) / secs;
  rtts.sort((x, y) => x - y);
  queue.sort((x, y) => x - y);
  const result = {
    cap: rate,
    seconds: secs,
    relayWrittenBytesPerSecond: Math.round(written),
    relayReadBytesPerSecond: Math.round(read),
    relayCellBytesPerSecond: Math.round(cellBytes),
    deviationPercent: Number((((written - rate) / rate) * 100).toFixed(2)),
    cellDeviationPercent: Number((((cellBytes - rate) / rate) * 100).toFixed(2)),
    bulkGoodputBytesPerSecond: Math.round(goodput),
    interactiveRttMs: {
      p50: Number(percentile(rtts, 0.5).toFixed(2)),
      p95: Number(percentile(rtts, 0.95).toFixed(2)),
      max: Number((rtts[rtts.length - 1] ?? NaN).toFixed(2)),
      n: rtts.length,
      failures,
    },
    bulkQueueAtRelayBytes: { p50: percentile(queue, 0.5), max: queue[queue.length - 1] ?? 0 },
    bulkFailures: bulk.filter((c) => c.failed !== null).map((c) => c.failed),
  };
  if (json) process.stdout.write(JSON.stringify(result) + '\n');
  else {
    const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB/s`;
    say(`\nover ${secs.toFixed(1)} s with a cap of ${kb(rate)}:`);
    say(`  relay A wrote  ${kb(written)} on the wire (${result.deviationPercent >= 0 ? '+' : ''}${result.deviationPercent} % of the cap), read ${kb(read)}`);
    say(`  RELAY cells out × ${CELL_LEN} B: ${kb(cellBytes)} (${result.cellDeviationPercent >= 0 ? '+' : ''}${result.cellDeviationPercent} %)`);
    say(`  bulk goodput at the client: ${kb(goodput)} over ${bulkCount} circuits`);
    say(`  interactive 64-byte RTT: p50 ${result.interactiveRttMs.p50} ms, p95 ${result.interactiveRttMs.p95} ms, max ${result.interactiveRttMs.max} ms (${rtts.length} echoes, ${failures} failed)`);
    say(`  bulk queue at A: p50 ${(result.bulkQueueAtRelayBytes.p50 / 1024).toFixed(0)} KiB (≈ ${((result.bulkQueueAtRelayBytes.p50 / rate) * 1000).toFixed(0)} ms at the cap)`);
    say(Math.abs(result.deviationPercent) <= 10 ? '  within 10 % of the cap: yes' : '  within 10 % of the cap: NO');
  }
} finally {
  raw?.link.close();
  await server.close();
  for (const p of procs) p.kill('SIGTERM');
  await sleep(500);
  rmSync(root, { recursive: true, force: true });
}

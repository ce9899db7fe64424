/**
 * Relay benchmark (`npm run bench:relay [-- --json]`): a real `chive relay` process is
 * measured from outside.
 *
 *  1. Forwarding: circuits client → R → S (R and S are relay processes); this process
 *     precomputes long runs of forward DROP cells addressed to S (so R only verifies, peels
 *     and forwards) and sends them as fast as the link takes them. R's forwarding rate is
 *     R's forwarded cells divided by R's own CPU seconds (utime + stime from /proc), i.e.
 *     cells per second of one core, plus the wall-clock rate.
 *  2. Memory: R's RSS idle, then with 10,000 open circuits (one-hop CREATE2s), and the
 *     bytes per circuit.
 * Figures are medians over several runs (p95 kept in the JSON). Not part of `npm test`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import { readKeyFile } from '../../src/io/key-files.js';
import { fromHex } from '../../src/bytes.js';
import { encodeRelayMessage } from '../../src/wire/relay-message.js';
import { CellCommand } from '../../src/wire/constants.js';
import type { ListedRelay } from '../../relay/index.js';
import { RawCircuit, RawLink, rawCircuit, testRng } from '../integration/raw-circuit.js';
import { ntorClientCreate } from '../../src/handshake/ntor.js';
import { machineLine, percentile } from './harness.js';

const provider = loadCryptoProvider('sodium');
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLK_TCK = 100;

interface RelayProc {
  proc: ChildProcess;
  info: ListedRelay;
}

async function startRelayProcess(name: string): Promise<RelayProc> {
  const dir = mkdtempSync(join(tmpdir(), `chive-bench-${name}-`));
  const proc = spawn(
    process.execPath,
    [join(root, 'bin/chive.mjs'), 'relay', '--DataDirectory', dir, '--ORPort', '0', '--Testnet', '1', '--Nickname', name,
      '--CreateRate', '0', '--MaxCircuitsPerLink', '20000', '--MaxCircuits', '50000', '--LogLevel', 'warn',
      '--MaxQueuedBytes', '1 GB', '--MaxQueuedBytesPerLink', '512 MB'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`relay ${name} exited with ${code}`)));
  });
  const ev = JSON.parse(line) as { url: string; identity: string };
  const keys = join(dir, 'keys');
  const onion = readKeyFile(join(keys, 'onion.key'), 'x25519-onion', 32);
  const link = readKeyFile(join(keys, 'link.key'), 'x25519-link', 32);
  return {
    proc,
    info: { url: ev.url, identity: fromHex(ev.identity), onionKey: provider.x25519PublicKey(onion), linkKey: provider.x25519PublicKey(link) },
  };
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK; // utime, stime
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function forwardingRun(r: RelayProc, s: RelayProc, cellsPerCircuit: number, circuits: number) {
  const raw = await RawLink.open(provider, r.info);
  const built: RawCircuit[] = [];
  for (let i = 0; i < circuits; i++) built.push(await rawCircuit(raw, [r.info, s.info]));
  // Precompute every cell (the client's crypto is not what is measured).
  const body = encodeRelayMessage({ kind: 'DROP', data: new Uint8Array(400) });
  const cells = built.map((c) => Array.from({ length: cellsPerCircuit }, () => c.layers.encryptForward(1, body, testRng)));
  const total = cellsPerCircuit * circuits;
  const cpu0 = cpuSeconds(r.proc.pid!);
  const t0 = performance.now();
  const link = raw.link;
  for (let k = 0; k < cellsPerCircuit; k++) {
    for (let i = 0; i < circuits; i++) link.sendCell(built[i]!.circId, CellCommand.RELAY, cells[i]![k]!);
    if (link.congested) await new Promise<void>((resolve) => link.onDrain(resolve));
  }
  link.flush();
  // wait until R has gone idle (its CPU stops moving)
  let last = cpuSeconds(r.proc.pid!);
  for (;;) {
    await sleep(200);
    const now = cpuSeconds(r.proc.pid!);
    if (now - last < 0.01) break;
    last = now;
  }
  const wallS = (performance.now() - t0) / 1000 - 0.2;
  const cpuS = cpuSeconds(r.proc.pid!) - cpu0;
  link.close();
  return { cellsPerCpuSecond: total / cpuS, cellsPerWallSecond: total / wallS, cpuS, total };
}

/** Opens `n` one-hop circuits on a new link; returns the link (kept open) and how many were created. */
async function openCircuits(r: RelayProc, n: number): Promise<{ raw: RawLink; created: number }> {
  const raw = await RawLink.open(provider, r.info);
  let created = 0;
  const batch = 500;
  for (let start = 0; start < n; start += batch) {
    const waits: Promise<unknown>[] = [];
    for (let i = start; i < Math.min(n, start + batch); i++) {
      const c = new RawCircuit(raw, raw.newCircId());
      c.sendCreate2(ntorClientCreate(provider, testRng, { nodeId: r.info.identity, onionKey: r.info.onionKey }).onionskin);
      waits.push(c.next((e) => e.kind === 'created2', 30_000).then(() => created++));
    }
    await Promise.all(waits);
  }
  return { raw, created };
}

/**
 * RSS idle, with n circuits, and with 2n: the bytes per circuit are the slope between n and
 * 2n, which leaves out one-time costs (V8 growing its young generation under the handshake
 * garbage, link buffers) that an (RSS(n) − idle) / n figure would charge to circuits.
 */
async function memoryRun(r: RelayProc, n: number) {
  const idle = rssBytes(r.proc.pid!);
  const a = await openCircuits(r, n);
  await sleep(1000);
  const atN = rssBytes(r.proc.pid!);
  const b = await openCircuits(r, n);
  await sleep(1000);
  const at2N = rssBytes(r.proc.pid!);
  a.raw.link.close();
  b.raw.link.close();
  return {
    idleRssBytes: idle,
    rssWithCircuitsBytes: atN,
    rssWith2nCircuitsBytes: at2N,
    circuits: a.created,
    bytesPerCircuit: (at2N - atN) / b.created,
    naiveBytesPerCircuit: (atN - idle) / a.created,
  };
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const runs = 5;
  const log = (s: string) => process.stderr.write(s + '\n');
  const r = await startRelayProcess('BenchR');
  const s = await startRelayProcess('BenchS');
  try {
    await sleep(300);
    const idleRss = rssBytes(r.proc.pid!);
    const fwd: { cellsPerCpuSecond: number; cellsPerWallSecond: number }[] = [];
    for (let i = 0; i < runs; i++) {
      log(`forwarding run ${i + 1}/${runs}…`);
      fwd.push(await forwardingRun(r, s, 20_000, 8));
    }
    log('opening 10,000 circuits…');
    const mem = await memoryRun(r, 10_000);
    const cpu = fwd.map((f) => f.cellsPerCpuSecond).sort((a, b) => a - b);
    const wall = fwd.map((f) => f.cellsPerWallSecond).sort((a, b) => a - b);
    const result = {
      machine: machineLine(),
      forwardCellsPerCpuSecond: { p50: Math.round(percentile(cpu, 0.5)), min: Math.round(cpu[0]!), max: Math.round(cpu[cpu.length - 1]!), n: cpu.length },
      forwardCellsPerWallSecond: { p50: Math.round(percentile(wall, 0.5)), min: Math.round(wall[0]!), n: wall.length },
      idleRssBytes: idleRss,
      rssWith10kCircuitsBytes: mem.rssWithCircuitsBytes,
      circuitsOpened: mem.circuits,
      rssWith20kCircuitsBytes: mem.rssWith2nCircuitsBytes,
      bytesPerCircuit: Math.round(mem.bytesPerCircuit),
      naiveBytesPerCircuit: Math.round(mem.naiveBytesPerCircuit),
    };
    if (json) {
      process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    } else {
      console.log(`chive relay benchmark — machine: ${result.machine}`);
      console.log(`forwarded cells per CPU-second of the relay (median of ${runs}): ${result.forwardCellsPerCpuSecond.p50.toLocaleString('en-US')} (min ${result.forwardCellsPerCpuSecond.min.toLocaleString('en-US')}, max ${result.forwardCellsPerCpuSecond.max.toLocaleString('en-US')})`);
      console.log(`forwarded cells per wall-second: ${result.forwardCellsPerWallSecond.p50.toLocaleString('en-US')}`);
      console.log(`relay RSS idle: ${(idleRss / 1048576).toFixed(1)} MiB; with ${mem.circuits.toLocaleString('en-US')} circuits: ${(mem.rssWithCircuitsBytes / 1048576).toFixed(1)} MiB; with twice as many: ${(mem.rssWith2nCircuitsBytes / 1048576).toFixed(1)} MiB`);
      console.log(`bytes per circuit (slope between 10k and 20k circuits): ${result.bytesPerCircuit}; (RSS(10k) − idle) / 10k: ${result.naiveBytesPerCircuit}`);
    }
  } finally {
    r.proc.kill('SIGTERM');
    s.proc.kill('SIGTERM');
  }
}

await main();

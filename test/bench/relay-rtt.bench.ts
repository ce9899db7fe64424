/**
 * Round-trip probe (`npx tsx test/bench/relay-rtt.bench.ts`): three `chive relay`
 * processes (no authorities: relays accept unlisted neighbours without a Network), and a
 * 64-byte DATA echo through 1, 2 and 3 of them to a TCP echo server in this process, at
 * the cell level (test/integration/raw-circuit.ts). It isolates what each relay process
 * adds to a round trip from the rest of a test network. Not part of `npm test`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createServer } from 'node:net';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import { readKeyFile } from '../../src/io/key-files.js';
import { fromHex } from '../../src/bytes.js';
import { RawLink, rawCircuit } from '../integration/raw-circuit.js';
const provider = loadCryptoProvider('sodium');
async function start(name: string, exit: boolean) {
  const dir = mkdtempSync(join(tmpdir(), `p-${name}-`));
  const args = ['bin/chive.mjs', 'relay', '--DataDirectory', dir, '--ORPort', '0', '--Testnet', '1', '--Nickname', name, '--LogLevel', 'warn'];
  if (exit) args.push('--ExitPolicy', 'accept 127.0.0.1/32:*');
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((r) => createInterface({ input: proc.stdout! }).once('line', r));
  const ev = JSON.parse(line);
  const onion = readKeyFile(join(dir, 'keys', 'onion.key'), 'x25519-onion', 32);
  const link = readKeyFile(join(dir, 'keys', 'link.key'), 'x25519-link', 32);
  return { proc, info: { url: ev.url, identity: fromHex(ev.identity), onionKey: provider.x25519PublicKey(onion), linkKey: provider.x25519PublicKey(link) } };
}
const echo = createServer((s) => { s.setNoDelay(true); s.pipe(s); });
await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
const port = (echo.address() as any).port;
const rs = [await start('A', false), await start('B', false), await start('C', true)];
for (const n of [1, 2, 3]) {
  const path = rs.slice(3 - n).map((r) => r.info);
  const raw = await RawLink.open(provider, path[0]!);
  const c = await rawCircuit(raw, path);
  c.send(n - 1, { kind: 'BEGIN', streamId: 1, target: { host: '127.0.0.1', port } });
  await c.next((e) => e.kind === 'relay');
  const samples: number[] = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    c.send(n - 1, { kind: 'DATA', streamId: 1, data: new Uint8Array(64) });
    await c.next((e) => e.kind === 'relay' && e.msg.kind === 'DATA');
    samples.push(performance.now() - t0);
  }
  samples.sort((a, b) => a - b);
  console.log(n, 'hops raw RTT p50', samples[150]!.toFixed(3), 'p95', samples[285]!.toFixed(3));
  raw.link.close();
}
rs.forEach((r) => r.proc.kill('SIGTERM')); echo.close();

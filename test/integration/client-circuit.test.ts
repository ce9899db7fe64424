/**
 * The client's circuits and streams (client/) through real relay daemons (relay/index.ts
 * `startRelay`) on 127.0.0.1, through both crypto providers: a 3-hop circuit to a local TCP
 * echo server carries 1 MiB both ways intact and half-closes cleanly; the exit's policy
 * refuses other addresses; a relay killed mid-circuit gives a typed error and a new circuit
 * through other relays works; an EXTEND2 to a relay the consensus does not list is
 * refused (EXTEND_REFUSED). The same client against a faked chain: client-circuit-fake.test.ts.
 *
 * What this assumes of `startRelay`: options `{ provider, dataDir, port: 0, exitPolicy }`
 * (exit policy text, absent = not an exit); the result's `info` has `identity`, `onionKey`,
 * `linkKey`, `url`; `setDirectory(staticDirectoryView(listed))` makes relays check EXTEND2
 * targets against that list; `close()` stops the relay and closes its links.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildCircuit, CircuitBuildError } from '../../client/circuit-builder.js';
import type { ClientCircuit } from '../../client/circuit.js';
import { LinkPool } from '../../client/link-pool.js';
import type { RelayInfo } from '../../client/relay-info.js';
import type { ClientStream } from '../../client/stream.js';
import { startRelay, staticDirectoryView, type RunningRelay } from '../../relay/index.js';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import type { ChiveError } from '../../src/errors.js';

const providers = allCryptoProviders().map((p) => [p.name, p] as const);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const EXIT_POLICY = 'accept 127.0.0.1/32:*, reject *:*';

interface TestNet {
  readonly relays: RunningRelay[];
  readonly infos: RelayInfo[];
  readonly pool: LinkPool;
  readonly echoPort: number;
  build(path: RelayInfo[], timeoutMs?: number): Promise<ClientCircuit>;
}

/** `count` relays (the last `exits` of them exits) that list each other, an echo server, a pool. */
async function startNet(p: CryptoProvider, count: number, exits = 1): Promise<TestNet> {
  const relays: RunningRelay[] = [];
  for (let i = 0; i < count; i++) {
    const dataDir = await mkdtemp(join(tmpdir(), 'chive-client-relay-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const relay = await startRelay({
      provider: p, dataDir, port: 0, ...(i >= count - exits ? { exitPolicy: EXIT_POLICY } : {}),
    });
    cleanups.push(() => relay.close());
    relays.push(relay);
  }
  const listed = relays.map((r) => r.info);
  for (const r of relays) r.setDirectory(staticDirectoryView(listed));
  const infos = relays.map((r, i) => ({ ...r.info, nickname: `relay${i}` }));
  const echo = await startEcho();
  const pool = new LinkPool({ provider: p, rng: (n) => p.randomBytes(n), connectTimeoutMs: 5000 });
  cleanups.push(() => pool.close());
  return {
    relays, infos, pool, echoPort: echo,
    build: (path, timeoutMs = 10_000) => buildCircuit({ provider: p, rng: (n) => p.randomBytes(n), pool, path, timeoutMs }),
  };
}

async function startEcho(): Promise<number> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.pipe(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => {
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  }));
  return (server.address() as { port: number }).port;
}

function readToEnd(stream: ClientStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function closeErrorOf(circuit: ClientCircuit): Promise<ChiveError> {
  return new Promise((resolve) => circuit.onClose(resolve));
}

describe.each(providers)('client circuits through real relays (%s)', (_name, p) => {
  it('a 3-hop circuit carries 1 MiB to a TCP echo server and back intact, then half-closes cleanly', async () => {
    const net = await startNet(p, 3);
    const circuit = await net.build(net.infos);
    expect(circuit.hops.map((h) => h.nickname)).toEqual(['relay0', 'relay1', 'relay2']);
    expect(circuit.hopTimesMs).toHaveLength(3);
    for (const ms of circuit.hopTimesMs) expect(ms).toBeGreaterThan(0);
    expect(circuit.buildMs).toBeGreaterThanOrEqual(circuit.hopTimesMs.reduce((a, b) => a + b, 0));

    const stream = await circuit.openStream('127.0.0.1', net.echoPort, { timeoutMs: 5000 });
    const data = new Uint8Array(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >>> 11)) & 0xff;
    const echoed = readToEnd(stream);
    stream.end(data);
    const back = await echoed;
    expect(back.length).toBe(data.length);
    expect(Buffer.compare(back, Buffer.from(data))).toBe(0);
    expect(stream.bytesWritten).toBe(data.length);
    expect(stream.bytesRead).toBe(data.length);
    expect(stream.firstByteAt).not.toBeNull();
    await new Promise((r) => setTimeout(r, 50));
    expect(circuit.closed).toBe(false);

    // The circuit is still good for another stream after the first one ended.
    const second = await circuit.openStream('127.0.0.1', net.echoPort, { timeoutMs: 5000 });
    const secondBack = readToEnd(second);
    second.end(Buffer.from('hello again'));
    expect((await secondBack).toString()).toBe('hello again');
    circuit.destroy();
  });

  it('the exit refuses a target outside its policy with STREAM_REFUSED (EXIT_POLICY); the circuit stays usable', async () => {
    const net = await startNet(p, 3);
    const circuit = await net.build(net.infos);
    const error = await circuit.openStream('10.255.255.1', 80, { timeoutMs: 5000 }).then(() => null, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'STREAM_REFUSED' });
    expect((error as Error).message).toContain('EXIT_POLICY');
    const stream = await circuit.openStream('127.0.0.1', net.echoPort, { timeoutMs: 5000 });
    const back = readToEnd(stream);
    stream.end(Buffer.from('ok'));
    expect((await back).toString()).toBe('ok');
  });

  it('a relay killed mid-circuit fails the circuit and its stream with CIRCUIT_DESTROYED; a new circuit avoids it', async () => {
    const net = await startNet(p, 4);
    const [guard, middle, spare, exit] = net.infos as [RelayInfo, RelayInfo, RelayInfo, RelayInfo];
    const circuit = await net.build([guard, middle, exit]);
    const stream = await circuit.openStream('127.0.0.1', net.echoPort, { timeoutMs: 5000 });
    const streamFailed = new Promise<Error>((resolve) => stream.once('error', resolve));
    const closed = closeErrorOf(circuit);
    await net.relays[1]!.close();
    const error = await closed;
    expect(error.code).toBe('CIRCUIT_DESTROYED');
    expect((await streamFailed as ChiveError).code).toBe('CIRCUIT_DESTROYED');

    const next = await net.build([guard, spare, exit]);
    expect(next.link).toBe(circuit.link); // the guard's link survived
    const s = await next.openStream('127.0.0.1', net.echoPort, { timeoutMs: 5000 });
    const back = readToEnd(s);
    s.end(Buffer.from('after the kill'));
    expect((await back).toString()).toBe('after the kill');
  });

  it('an EXTEND2 to a relay the consensus does not list is refused: EXTEND_REFUSED naming the hop', async () => {
    const net = await startNet(p, 2);
    const stranger: RelayInfo = {
      identity: p.randomBytes(32), onionKey: p.randomBytes(32), linkKey: p.randomBytes(32),
      url: net.infos[1]!.url, nickname: 'stranger',
    };
    const error = await net.build([net.infos[0]!, net.infos[1]!, stranger]).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitBuildError);
    expect(error).toMatchObject({ code: 'EXTEND_REFUSED', hop: 2 });
    // The failed build was destroyed; the link and relays still serve new circuits.
    const circuit = await net.build([net.infos[0]!, net.infos[1]!]);
    expect(circuit.closed).toBe(false);
    expect(net.pool.circuitCount(circuit.link)).toBe(1);
  });
});

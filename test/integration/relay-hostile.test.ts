/**
 * Hostile input against running relays (real ws links on 127.0.0.1): each case must leave
 * the relay up and an unrelated circuit through it working.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import WebSocket from 'ws';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import { ntorClientCreate } from '../../src/handshake/ntor.js';
import { CELL_PAYLOAD_LEN, CellCommand, DestroyReason, EndReason } from '../../src/wire/constants.js';
import { startRelay, staticDirectoryView, type RunningRelay } from '../../relay/index.js';
import { RawCircuit, RawLink, rawCircuit, testRng } from './raw-circuit.js';
import { waitFor } from '../support/wait.js';

const provider = loadCryptoProvider();
let relays: RunningRelay[] = [];
let echo: Server;
let echoPort = 0;

async function startEcho(): Promise<void> {
  echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  echoPort = (echo.address() as { port: number }).port;
}

beforeAll(async () => {
  await startEcho();
  const base = mkdtempSync(join(tmpdir(), 'chive-relay-'));
  for (let i = 0; i < 4; i++) {
    relays.push(
      await startRelay({
        dataDir: join(base, `r${i}`),
        provider,
        exitPolicy: i === 2 ? 'accept 127.0.0.1/32:*, reject *:*' : null,
        limits: { createRate: 50, createBurst: 60 },
      }),
    );
  }
  const view = staticDirectoryView(relays.map((r) => r.info));
  relays.forEach((r) => r.setDirectory(view));
});

afterAll(async () => {
  await Promise.all(relays.map((r) => r.close()));
  echo.close();
});

const info = (i: number) => relays[i]!.info;

/** A fresh 3-hop circuit through relays 0,1,2 to the echo server: proves the relays still serve. */
async function echoRoundTrip(text = 'still alive'): Promise<void> {
  const raw = await RawLink.open(provider, info(0));
  const c = await rawCircuit(raw, [info(0), info(1), info(2)]);
  c.send(2, { kind: 'BEGIN', streamId: 7, target: { host: '127.0.0.1', port: echoPort } });
  const connected = await c.next((e) => e.kind === 'relay');
  expect(connected.kind === 'relay' && connected.msg.kind).toBe('CONNECTED');
  c.send(2, { kind: 'DATA', streamId: 7, data: new TextEncoder().encode(text) });
  let got = '';
  while (got.length < text.length) {
    const e = await c.next((x) => x.kind === 'relay');
    if (e.kind === 'relay' && e.msg.kind === 'DATA') got += new TextDecoder().decode(e.msg.data);
  }
  expect(got).toBe(text);
  raw.link.close();
}

describe('relays under hostile input', () => {
  it('carry a 3-hop circuit to an exit and echo data both ways', async () => {
    await echoRoundTrip('hello through three hops');
  });

  it('survive random bytes before and after the link handshake, a text frame, wrong-length and oversized frames', async () => {
    const url = info(1).url;
    const junk = [
      (ws: WebSocket) => ws.send(testRng(100)),
      (ws: WebSocket) => ws.send('text frame'),
      (ws: WebSocket) => ws.send(testRng(200_000)),
    ];
    for (const send of junk) {
      const ws = new WebSocket(url, 'chive-link-nk');
      await new Promise<void>((r) => ws.once('open', () => r()));
      send(ws);
      await new Promise<void>((r) => ws.once('close', () => r()));
    }
    // after the handshake: a frame of the wrong length
    const raw = await RawLink.open(provider, info(1));
    // the link's socket, reached past its private field: sending raw bytes is the point here
    const ws = (raw.link as unknown as { ws: WebSocket }).ws;
    expect(typeof ws.send).toBe('function');
    const closed = new Promise<{ code: string }>((r) => raw.link.onClose((reason) => r(reason)));
    ws.send(testRng(517));
    expect((await closed).code).toBe('REMOTE');
    await echoRoundTrip();
  });

  it('ignores a cell for an unknown circuit and counts it', async () => {
    const raw = await RawLink.open(provider, info(0));
    const before = relays[0]!.node.counters.refusals.unknown_circuit;
    raw.link.sendCell(0x8000_1234, CellCommand.RELAY, testRng(CELL_PAYLOAD_LEN));
    await waitFor('the unknown-circuit refusal', () => relays[0]!.node.counters.refusals.unknown_circuit > before, 3000);
    await echoRoundTrip();
    raw.link.close();
  });

  it('destroys a circuit whose id is reused by CREATE2, and refuses a replayed CREATE2', async () => {
    const raw = await RawLink.open(provider, info(0));
    const c = new RawCircuit(raw, raw.newCircId());
    const { onionskin } = ntorClientCreate(provider, testRng, { nodeId: info(0).identity, onionKey: info(0).onionKey });
    c.sendCreate2(onionskin);
    expect((await c.next()).kind).toBe('created2');
    c.sendCreate2(ntorClientCreate(provider, testRng, { nodeId: info(0).identity, onionKey: info(0).onionKey }).onionskin);
    expect(await c.next()).toMatchObject({ kind: 'destroy', reason: DestroyReason.PROTOCOL });
    const replay = new RawCircuit(raw, raw.newCircId());
    const before = relays[0]!.node.counters.refusals.replay;
    replay.sendCreate2(onionskin);
    expect((await replay.next()).kind).toBe('destroy');
    expect(relays[0]!.node.counters.refusals.replay).toBe(before + 1);
    await echoRoundTrip();
    raw.link.close();
  });

  it('destroys the circuit at the next hop when a relay cell is bit-flipped', async () => {
    const raw = await RawLink.open(provider, info(0));
    const c = await rawCircuit(raw, [info(0), info(1), info(2)]);
    const before = relays[0]!.node.counters.refusals.bad_tag;
    const payload = c.layers.encryptForward(2, new Uint8Array(10), testRng);
    payload[100]! ^= 0x04;
    c.sendPayload(payload);
    expect((await c.next((e) => e.kind === 'destroy')).kind).toBe('destroy');
    expect(relays[0]!.node.counters.refusals.bad_tag).toBe(before + 1);
    await echoRoundTrip();
    raw.link.close();
  });

  it('refuses EXTEND2 back to the previous hop and to itself (TRUNCATED), keeping the circuit', async () => {
    const raw = await RawLink.open(provider, info(0));
    const c = await rawCircuit(raw, [info(0), info(1)]);
    const back = await c.extend(info(0));
    expect(back).toMatchObject({ kind: 'relay', hop: 1, msg: { kind: 'TRUNCATED' } });
    const self = await c.extend(info(1));
    expect(self).toMatchObject({ kind: 'relay', hop: 1, msg: { kind: 'TRUNCATED' } });
    const ok = await c.extend(info(2));
    expect(ok).toMatchObject({ kind: 'relay', msg: { kind: 'EXTENDED2' } });
    raw.link.close();
  });

  it('refuses a BEGIN at a relay that is not an exit, and one outside the exit policy', async () => {
    const raw = await RawLink.open(provider, info(0));
    const c = await rawCircuit(raw, [info(0), info(1)]);
    c.send(1, { kind: 'BEGIN', streamId: 1, target: { host: '127.0.0.1', port: echoPort } });
    expect(await c.next()).toMatchObject({ msg: { kind: 'END', reason: EndReason.EXIT_POLICY } });
    const d = await rawCircuit(raw, [info(0), info(2)]);
    d.send(1, { kind: 'BEGIN', streamId: 1, target: { host: '10.1.2.3', port: 80 } });
    expect(await d.next()).toMatchObject({ msg: { kind: 'END', reason: EndReason.EXIT_POLICY } });
    raw.link.close();
  });

  it('refuses a flood of CREATE2 beyond the rate limit, and counts it', async () => {
    const raw = await RawLink.open(provider, info(3));
    const before = relays[3]!.node.counters.refusals.create_rate;
    const circuits: RawCircuit[] = [];
    for (let i = 0; i < 150; i++) {
      const c = new RawCircuit(raw, raw.newCircId());
      c.sendCreate2(ntorClientCreate(provider, testRng, { nodeId: info(3).identity, onionKey: info(3).onionKey }).onionskin);
      circuits.push(c);
    }
    const outcomes = await Promise.all(circuits.map((c) => c.next(() => true, 10_000)));
    const refused = outcomes.filter((e) => e.kind === 'destroy').length;
    expect(refused).toBeGreaterThan(50);
    expect(relays[3]!.node.counters.refusals.create_rate - before).toBe(refused);
    raw.link.close();
    await echoRoundTrip();
  });
});


describe('a client that stops reading', () => {
  it('makes the OOM handler fire and keeps the queues under the cap', async () => {
    const firehose = createServer((s) => {
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (s.write(chunk));
      };
      s.on('drain', pump);
      s.on('error', () => {});
      pump();
    });
    await new Promise<void>((r) => firehose.listen(0, '127.0.0.1', r));
    const port = (firehose.address() as { port: number }).port;
    const cap = 2 * 1024 * 1024;
    const guard = await startRelay({
      dataDir: mkdtempSync(join(tmpdir(), 'chive-oom-')),
      provider,
      limits: { maxQueuedBytes: cap, maxQueuedBytesPerLink: 64 * 1024 * 1024 },
    });
    const view = staticDirectoryView([...relays.map((r) => r.info), guard.info]);
    [...relays, guard].forEach((r) => r.setDirectory(view));
    try {
      const raw = await RawLink.open(provider, guard.info);
      const circuits: RawCircuit[] = [];
      for (let i = 0; i < 24; i++) circuits.push(await rawCircuit(raw, [guard.info, info(1), info(2)]));
      // stop reading: the guard's writes to us back up
      const ws = (raw.link as unknown as { ws: { _socket: { pause(): void } } }).ws;
      ws._socket.pause();
      for (const c of circuits) c.send(2, { kind: 'BEGIN', streamId: 1, target: { host: '127.0.0.1', port } });
      await waitFor('the OOM handler', () => guard.node.counters.oomKills > 0, 20_000);
      expect(guard.node.counters.refusals.oom).toBeGreaterThan(0);
      // after the handler ran, the queues are back under the cap
      expect(guard.node.queuedBytes()).toBeLessThanOrEqual(cap);
      raw.link.close();
      await echoRoundTrip();
    } finally {
      await guard.close();
      firehose.close();
    }
  }, 40_000);
});

describe('idle links', () => {
  it('are closed once they have carried no circuit for linkIdleMs', async () => {
    const r = await startRelay({ dataDir: mkdtempSync(join(tmpdir(), 'chive-idle-')), provider, limits: { linkIdleMs: 1_000 } });
    try {
      const raw = await RawLink.open(provider, r.info);
      const closed = new Promise<string>((resolve) => raw.link.onClose((reason) => resolve(reason.code)));
      const started = Date.now();
      expect(await closed).toBe('REMOTE');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    } finally {
      await r.close();
    }
  }, 10_000);
});

/**
 * The whole stack in one process through the public testing API: 3 authorities vote a
 * consensus over HTTP, 5 relays upload descriptors and pass reachability tests, a client
 * bootstraps, builds 3-hop circuits and measures them; a relay killed mid-circuit leads to a
 * typed error and a working new circuit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNetwork, measureCircuit, echoOnce, type TestNetwork } from '../../testnet/index.js';
import { isChiveError } from '../../src/errors.js';
import { toHex } from '../../src/bytes.js';
import { RelayFlag } from '../../src/wire/constants.js';

let net: TestNetwork;

beforeAll(async () => {
  net = await createTestNetwork({ relays: 5, authorities: 3, exits: 2, votingIntervalMs: 2_000 });
  await net.ready(30_000);
}, 60_000);

afterAll(async () => {
  await net?.close();
});

describe('createTestNetwork + measureCircuit', () => {
  it('bootstraps a client with progress and measures a 3-hop circuit', async () => {
    const stages: string[] = [];
    const client = await net.client({ onProgress: (p) => stages.push(p.stage) });
    expect(stages).toEqual(['consensus', 'guards', 'circuit', 'ready']);
    const m = await measureCircuit(client, { target: net.echo, pings: 5 });
    expect(m.perHopMs).toHaveLength(3);
    expect(m.perHopMs.every((x) => x > 0)).toBe(true);
    expect(m.buildMs).toBeGreaterThanOrEqual(m.perHopMs.reduce((a, b) => a + b, 0) * 0.99);
    expect(m.rttSamplesMs).toHaveLength(5);
    expect(m.rttMs).toBeGreaterThan(0);
    expect(m.connectMs).toBeGreaterThan(0);
  });

  it('every consensus relay is listed with the right flags, and exits carry Exit', async () => {
    const c = net.authorities[0]!.latestConsensus()!.consensus;
    expect(c.relays).toHaveLength(5);
    const exits = net.relays.filter((r) => r.exit).map((r) => toHex(r.relay.keys.identity));
    for (const r of c.relays) {
      const isExit = exits.includes(toHex(r.identity));
      expect((r.flags & RelayFlag.EXIT) !== 0).toBe(isExit);
      expect(r.flags & RelayFlag.RUNNING).toBe(RelayFlag.RUNNING);
    }
  });

  it('a relay killed mid-circuit fails the stream with a typed error; the next request gets a new circuit', async () => {
    const client = await net.client();
    const circuit = await client.buildCircuit({ target: net.echo });
    const stream = await circuit.openStream(net.echo.host, net.echo.port, { timeoutMs: 5000 });
    expect(await echoOnce(stream, new Uint8Array(64))).toBeGreaterThan(0);
    const middle = toHex(circuit.hops[1]!.identity);
    const index = net.relays.findIndex((r) => toHex(r.relay.keys.identity) === middle);
    const failed = new Promise<unknown>((resolve) => stream.once('error', resolve));
    await net.killRelay(index);
    const err = await failed;
    expect(isChiveError(err)).toBe(true);
    expect((err as { code: string }).code).toBe('CIRCUIT_DESTROYED');
    const again = await client.openStream(net.echo.host, net.echo.port);
    expect(await echoOnce(again, new Uint8Array(64))).toBeGreaterThan(0);
    again.end();
  });
});

/**
 * The ws link driver over real loopback sockets (src/io/link*.ts), through both crypto
 * providers: NK and XK handshakes, keys each side learns, wrong keys, 10,000 cells each way
 * in order with batching, flush on close, late handlers, and a clean server shutdown.
 * Hostile peers, timeouts, limits and backpressure are in link-hostile.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { isChiveError } from '../../src/errors.js';
import { connectLink, type ConnectLinkOptions } from '../../src/io/link-connect.js';
import type { LinkCloseReason } from '../../src/io/link-close.js';
import { startLinkServer, type LinkServerOptions } from '../../src/io/link-server.js';
import type { Link } from '../../src/io/link.js';
import { CELL_LEN, CELL_PAYLOAD_LEN, CellCommand, MAX_CELLS_PER_FRAME } from '../../src/wire/constants.js';
import { keyPair } from '../support/keys.js';
import { waitFor } from '../support/wait.js';

const providers = allCryptoProviders().map((p) => [p.name, p] as const);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});



/** A server whose accepted links are collected in `accepted`. */
async function serve(p: CryptoProvider, extra: Partial<LinkServerOptions> = {}) {
  const keys = keyPair(p);
  const accepted: Link[] = [];
  const server = await startLinkServer({
    provider: p, rng: p.randomBytes, linkStaticSecret: keys.secret,
    onLink: (link) => accepted.push(link), ...extra,
  });
  cleanups.push(() => server.close());
  return { server, keys, accepted };
}

async function dial(p: CryptoProvider, url: string, remoteStatic: Uint8Array, extra: Partial<ConnectLinkOptions> = {}): Promise<Link> {
  const link = await connectLink({ provider: p, rng: p.randomBytes, url, pattern: 'NK', remoteStatic, ...extra });
  cleanups.push(() => link.close());
  return link;
}

/** Cell i of a test stream: circuit id i + 1, RELAY, payload bytes (i·31 + j + salt) mod 256. */
function testPayload(i: number, salt: number): Uint8Array {
  const payload = new Uint8Array(CELL_PAYLOAD_LEN);
  for (let j = 0; j < CELL_PAYLOAD_LEN; j++) payload[j] = (i * 31 + j + salt) & 0xff;
  return payload;
}

/** A cell handler checking that cells arrive as testPayload(0..), in order; counts them. */
function checker(salt: number) {
  const state = { count: 0, bad: [] as string[] };
  const handler = (buf: Uint8Array, offset: number): void => {
    const i = state.count++;
    const circId = ((buf[offset]! << 24) | (buf[offset + 1]! << 16) | (buf[offset + 2]! << 8) | buf[offset + 3]!) >>> 0;
    if (circId !== i + 1 || buf[offset + 4] !== CellCommand.RELAY) state.bad.push(`cell ${i}: header ${circId}/${buf[offset + 4]}`);
    for (let j = 0; j < CELL_PAYLOAD_LEN; j++) {
      if (buf[offset + 5 + j] !== ((i * 31 + j + salt) & 0xff)) {
        state.bad.push(`cell ${i}: payload byte ${j}`);
        break;
      }
    }
  };
  return { state, handler };
}

describe.each(providers)('link driver over ws (%s)', (_name, p) => {
  it('NK: the client is anonymous, the relay proven; both sides share the handshake hash', async () => {
    const { server, keys, accepted } = await serve(p);
    const client = await dial(p, server.url, keys.publicKey);
    await waitFor('the accepted link', () => accepted.length === 1);
    const relaySide = accepted[0]!;
    expect(client.pattern).toBe('NK');
    expect(client.role).toBe('initiator');
    expect(client.remoteStatic).toEqual(keys.publicKey);
    expect(relaySide.pattern).toBe('NK');
    expect(relaySide.role).toBe('responder');
    expect(relaySide.remoteStatic).toBeNull();
    expect(relaySide.handshakeHash).toEqual(client.handshakeHash);
    expect(server.publicKey).toEqual(keys.publicKey);
    expect(server.stats.linksAccepted).toBe(1);
    expect(server.stats.linksOpen).toBe(1);
  });

  it('XK: the server learns the initiating relay\'s static key', async () => {
    const { server, keys, accepted } = await serve(p);
    const relayKeys = keyPair(p);
    const client = await dial(p, server.url, keys.publicKey, { pattern: 'XK', localStaticSecret: relayKeys.secret });
    await waitFor('the accepted link', () => accepted.length === 1);
    expect(client.pattern).toBe('XK');
    expect(client.remoteStatic).toEqual(keys.publicKey);
    expect(accepted[0]!.pattern).toBe('XK');
    expect(accepted[0]!.remoteStatic).toEqual(relayKeys.publicKey);
    expect(accepted[0]!.handshakeHash).toEqual(client.handshakeHash);
  });

  it.each(['NK', 'XK'] as const)('%s with a wrong remote static key rejects HANDSHAKE_FAILED; the server keeps serving', async (pattern) => {
    const { server, keys, accepted } = await serve(p);
    const wrong = keyPair(p).publicKey;
    const local = pattern === 'XK' ? { localStaticSecret: keyPair(p).secret } : {};
    const error = await connectLink({ provider: p, rng: p.randomBytes, url: server.url, pattern, remoteStatic: wrong, ...local })
      .then(() => null, (e: unknown) => e);
    expect(isChiveError(error, 'HANDSHAKE_FAILED')).toBe(true);
    await waitFor('the failure counted', () => server.stats.handshakesFailed === 1);
    expect(server.stats.closes.HANDSHAKE_FAILED).toBe(1);
    expect(accepted).toHaveLength(0);

    const good = await dial(p, server.url, keys.publicKey, { pattern, ...local });
    await waitFor('the good link', () => accepted.length === 1);
    const got: number[] = [];
    good.onCell((buf, off) => got.push(buf[off + 4]!));
    accepted[0]!.sendCell(7, CellCommand.DESTROY, new Uint8Array(CELL_PAYLOAD_LEN));
    await waitFor('the cell', () => got.length === 1);
    expect(got).toEqual([CellCommand.DESTROY]);
  });

  it('carries 10,000 cells each way intact and in order, sharing frames when sent in one tick', async () => {
    const { server, keys, accepted } = await serve(p);
    const client = await dial(p, server.url, keys.publicKey);
    await waitFor('the accepted link', () => accepted.length === 1);
    const relaySide = accepted[0]!;
    const atRelay = checker(1);
    const atClient = checker(2);
    relaySide.onCell(atRelay.handler);
    client.onCell(atClient.handler);

    const N = 10_000;
    const payloads = Array.from({ length: N }, (_, i) => testPayload(i, 1));
    for (let i = 0; i < N; i++) expect(client.sendCell(i + 1, CellCommand.RELAY, payloads[i]!)).toBe(true);
    const raw = new Uint8Array(CELL_LEN);
    for (let i = 0; i < N; i++) {
      new DataView(raw.buffer).setUint32(0, i + 1);
      raw[4] = CellCommand.RELAY;
      raw.set(testPayload(i, 2), 5);
      expect(relaySide.sendRawCell(raw)).toBe(true);
    }
    await waitFor('all cells', () => atRelay.state.count === N && atClient.state.count === N, 20_000);
    expect(atRelay.state.bad).toEqual([]);
    expect(atClient.state.bad).toEqual([]);

    const frames = Math.ceil(N / MAX_CELLS_PER_FRAME); // 157: full frames, then one of 16 cells
    for (const [sender, receiver] of [[client, relaySide], [relaySide, client]] as const) {
      expect(sender.cellsOut).toBe(N);
      expect(sender.framesOut).toBe(frames);
      expect(sender.framesOut).toBeLessThan(sender.cellsOut);
      expect(sender.bytesOut).toBe(N * CELL_LEN + frames * 16);
      expect(receiver.cellsIn).toBe(N);
      expect(receiver.framesIn).toBe(frames);
      expect(receiver.bytesIn).toBe(sender.bytesOut);
    }
  }, 25_000);

  it('sends a lone cell in a frame of its own at the end of the tick', async () => {
    const { server, keys, accepted } = await serve(p);
    const client = await dial(p, server.url, keys.publicKey);
    await waitFor('the accepted link', () => accepted.length === 1);
    const got = checker(5);
    accepted[0]!.onCell(got.handler);
    client.sendCell(1, CellCommand.RELAY, testPayload(0, 5));
    expect(client.bufferedBytes).toBe(CELL_LEN); // batched until the end of this tick
    await waitFor('the cell', () => got.state.count === 1);
    expect(got.state.bad).toEqual([]);
    expect(client.framesOut).toBe(1);
    expect(client.cellsOut).toBe(1);
  });

  it('close() flushes the batch first; both sides report why', async () => {
    const { server, keys, accepted } = await serve(p);
    const client = await dial(p, server.url, keys.publicKey);
    await waitFor('the accepted link', () => accepted.length === 1);
    const relaySide = accepted[0]!;
    const got = checker(3);
    relaySide.onCell(got.handler);
    const reasons: LinkCloseReason[] = [];
    relaySide.onClose((r) => reasons.push(r));
    client.onClose((r) => reasons.push(r));
    for (let i = 0; i < 3; i++) client.sendCell(i + 1, CellCommand.RELAY, testPayload(i, 3));
    client.close();
    expect(client.closed).toBe(true);
    expect(client.sendCell(9, CellCommand.RELAY, testPayload(0, 3))).toBe(false);
    await waitFor('both close reasons', () => reasons.length === 2);
    expect(got.state.count).toBe(3);
    expect(got.state.bad).toEqual([]);
    const byCode = Object.fromEntries(reasons.map((r) => [r.code, r]));
    expect(byCode.LOCAL).toMatchObject({ wsCode: 1000, fault: null });
    expect(byCode.REMOTE).toMatchObject({ wsCode: 1000, fault: null });
    await waitFor('the server count', () => server.stats.linksOpen === 0);
    expect(server.stats.closes.REMOTE).toBe(1);
  });

  it('keeps cells that arrive before any onCell handler and delivers them when one is set', async () => {
    const { server, keys, accepted } = await serve(p);
    const client = await dial(p, server.url, keys.publicKey);
    await waitFor('the accepted link', () => accepted.length === 1);
    const relaySide = accepted[0]!;
    for (let i = 0; i < 5; i++) client.sendCell(i + 1, CellCommand.RELAY, testPayload(i, 4));
    await waitFor('cells received', () => relaySide.cellsIn === 5);
    const got = checker(4);
    relaySide.onCell(got.handler);
    expect(got.state.count).toBe(5);
    expect(got.state.bad).toEqual([]);
  });

  it('refuses bad arguments to sendCell with INVALID_ARGUMENT', async () => {
    const { server, keys } = await serve(p);
    const client = await dial(p, server.url, keys.publicKey);
    const ok = new Uint8Array(CELL_PAYLOAD_LEN);
    for (const call of [
      () => client.sendCell(1, CellCommand.RELAY, new Uint8Array(CELL_PAYLOAD_LEN - 1)),
      () => client.sendCell(-1, CellCommand.RELAY, ok),
      () => client.sendCell(2 ** 32, CellCommand.RELAY, ok),
      () => client.sendCell(1, 256, ok),
      () => client.sendRawCell(new Uint8Array(CELL_LEN + 1)),
    ]) {
      let caught: unknown = null;
      try {
        call();
      } catch (e) {
        caught = e;
      }
      expect(isChiveError(caught, 'INVALID_ARGUMENT')).toBe(true);
    }
    expect(client.bufferedBytes).toBe(0);
  });

  it('server.close() closes every link (1001) and leaves no sockets behind', async () => {
    const keys = keyPair(p);
    const server = await startLinkServer({ provider: p, rng: p.randomBytes, linkStaticSecret: keys.secret, onLink: () => {} });
    const a = await connectLink({ provider: p, rng: p.randomBytes, url: server.url, pattern: 'NK', remoteStatic: keys.publicKey });
    const b = await connectLink({ provider: p, rng: p.randomBytes, url: server.url, pattern: 'NK', remoteStatic: keys.publicKey });
    const reasons: LinkCloseReason[] = [];
    a.onClose((r) => reasons.push(r));
    b.onClose((r) => reasons.push(r));
    await server.close();
    await waitFor('both clients closed', () => reasons.length === 2);
    expect(reasons.map((r) => [r.code, r.wsCode])).toEqual([['REMOTE', 1001], ['REMOTE', 1001]]);
    expect(server.stats.closes.SHUTDOWN).toBe(2);
    await waitFor('no TCP handles', () => !process.getActiveResourcesInfo().some((r) => r.startsWith('TCP')));
    const error = await connectLink({ provider: p, rng: p.randomBytes, url: server.url, pattern: 'NK', remoteStatic: keys.publicKey })
      .then(() => null, (e: unknown) => e);
    expect(isChiveError(error, 'LINK_CONNECT_FAILED')).toBe(true);
  });
});

/**
 * The ws link driver against hostile and broken peers, over real loopback sockets: text
 * messages, garbage handshakes, bad / replayed / oversized frames, handshake timeouts,
 * a throwing onCell handler, refused upgrades, maxLinks, backpressure with a peer that
 * stops reading, idle timeout and keepalive. Every case closes only THAT link with a
 * typed reason; afterwards a fresh, good link to the same server still works.
 * Raw peers are plain `ws` WebSockets (driving the Noise handshake by hand where needed).
 */
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { isChiveError, type ChiveError } from '../../src/errors.js';
import { connectLink, type ConnectLinkOptions } from '../../src/io/link-connect.js';
import { startLinkServer, type LinkServer, type LinkServerOptions } from '../../src/io/link-server.js';
import type { Link } from '../../src/io/link.js';
import { sealFrame } from '../../src/link/frames.js';
import { HandshakeState } from '../../src/noise/handshake.js';
import type { CipherState } from '../../src/noise/symmetric-state.js';
import {
  CELL_LEN, CELL_PAYLOAD_LEN, CellCommand, LINK_SUBPROTOCOL_NK, MAX_LINK_FRAME_LEN,
} from '../../src/wire/constants.js';
import { keyPair } from '../support/keys.js';
import { waitFor } from '../support/wait.js';

const providers = allCryptoProviders().map((p) => [p.name, p] as const);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});



const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A server that echoes every cell back on the link it came from; accepted links are collected. */
async function serve(p: CryptoProvider, extra: Partial<LinkServerOptions> = {}) {
  const keys = keyPair(p);
  const accepted: Link[] = [];
  const errors: ChiveError[] = [];
  const server = await startLinkServer({
    provider: p, rng: p.randomBytes, linkStaticSecret: keys.secret, onError: (e) => errors.push(e),
    onLink: (link) => {
      accepted.push(link);
      link.onCell((buf, off) => link.sendRawCell(buf.subarray(off, off + CELL_LEN)));
    },
    ...extra,
  });
  cleanups.push(() => server.close());
  return { server, keys, accepted, errors };
}

async function dial(p: CryptoProvider, url: string, remoteStatic: Uint8Array, extra: Partial<ConnectLinkOptions> = {}): Promise<Link> {
  const link = await connectLink({ provider: p, rng: p.randomBytes, url, pattern: 'NK', remoteStatic, ...extra });
  cleanups.push(() => link.close());
  return link;
}

async function dialError(options: ConnectLinkOptions): Promise<unknown> {
  return connectLink(options).then((link) => {
    link.close();
    return null;
  }, (e: unknown) => e);
}

/** A good link still works: one cell goes to the echoing server and comes back. */
async function expectServing(p: CryptoProvider, server: LinkServer, remoteStatic: Uint8Array): Promise<void> {
  const link = await dial(p, server.url, remoteStatic);
  let echoed = 0;
  link.onCell((buf, off) => {
    if (buf[off + 4] === CellCommand.RELAY && buf[off + 5] === 0xab) echoed += 1;
  });
  link.sendCell(42, CellCommand.RELAY, new Uint8Array(CELL_PAYLOAD_LEN).fill(0xab));
  await waitFor('the echo', () => echoed === 1);
  link.close();
}

interface Raw {
  readonly ws: WebSocket;
  /** The close code the raw peer saw, once closed. */
  readonly closed: Promise<number>;
}

async function openRaw(url: string, protocols: string[] = [LINK_SUBPROTOCOL_NK], options: { autoPong?: boolean } = {}): Promise<Raw> {
  const ws = new WebSocket(url, protocols, { perMessageDeflate: false, ...options });
  cleanups.push(() => ws.terminate());
  ws.on('error', () => {});
  const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, closed };
}

interface RawLink extends Raw {
  readonly send: CipherState;
  readonly receive: CipherState;
}

/** A raw peer that runs the NK handshake by hand, so it can then send whatever it likes. */
async function rawHandshake(p: CryptoProvider, url: string, remoteStatic: Uint8Array): Promise<RawLink> {
  const raw = await openRaw(url);
  const hs = new HandshakeState({ provider: p, pattern: 'NK', role: 'initiator', rng: p.randomBytes, remoteStaticPublic: remoteStatic });
  const reply = new Promise<Uint8Array>((r) => raw.ws.once('message', (data) => r(data as Buffer)));
  raw.ws.send(hs.writeMessage());
  hs.readMessage(await reply);
  const { send, receive } = hs.finish();
  return { ...raw, send, receive };
}

function cells(k: number, fill = 0x11): Uint8Array {
  return new Uint8Array(k * CELL_LEN).fill(fill);
}

describe.each(providers)('link driver against hostile peers (%s)', (_name, p) => {
  it('a text message, in the handshake or after it, closes that link (1003)', async () => {
    const { server, keys, accepted } = await serve(p);
    const early = await openRaw(server.url);
    early.ws.send('hello');
    expect(await early.closed).toBe(1003);

    const late = await rawHandshake(p, server.url, keys.publicKey);
    await waitFor('the accepted link', () => accepted.length === 1);
    late.ws.send('hello');
    expect(await late.closed).toBe(1003);
    expect(accepted[0]!.closeReason).toMatchObject({ code: 'TEXT_MESSAGE', fault: 'peer', wsCode: 1003 });
    expect(server.stats.closes.TEXT_MESSAGE).toBe(2);
    await expectServing(p, server, keys.publicKey);
  });

  it.each([
    ['random bytes', (p: CryptoProvider) => p.randomBytes(100)],
    ['an empty message', () => new Uint8Array(0)],
    ['a message over MAX_HANDSHAKE_MESSAGE_LEN', () => new Uint8Array(2000)],
    ['a truncated message', (p: CryptoProvider) => p.randomBytes(40)],
  ])('%s instead of handshake message 1 closes with 4001', async (_what, make) => {
    const { server, keys } = await serve(p);
    const raw = await openRaw(server.url);
    raw.ws.send(make(p));
    expect(await raw.closed).toBe(4001);
    expect(server.stats.closes.HANDSHAKE_FAILED).toBe(1);
    expect(server.stats.handshakesFailed).toBe(1);
    await expectServing(p, server, keys.publicKey);
  });

  it('XK: a garbage message 3 after a valid message 1 closes with 4001', async () => {
    const { server, keys, accepted } = await serve(p);
    const raw = await openRaw(server.url, ['chive-link-xk']);
    const hs = new HandshakeState({
      provider: p, pattern: 'XK', role: 'initiator', rng: p.randomBytes,
      remoteStaticPublic: keys.publicKey, localStaticSecret: keyPair(p).secret,
    });
    const reply = new Promise<Uint8Array>((r) => raw.ws.once('message', (data) => r(data as Buffer)));
    raw.ws.send(hs.writeMessage());
    hs.readMessage(await reply);
    raw.ws.send(p.randomBytes(64));
    expect(await raw.closed).toBe(4001);
    expect(accepted).toHaveLength(0);
    expect(server.stats.closes.HANDSHAKE_FAILED).toBe(1);
    await expectServing(p, server, keys.publicKey);
  });

  it('a handshake message with a non-empty payload closes with 4001', async () => {
    const { server, keys } = await serve(p);
    const raw = await openRaw(server.url);
    const hs = new HandshakeState({ provider: p, pattern: 'NK', role: 'initiator', rng: p.randomBytes, remoteStaticPublic: keys.publicKey });
    raw.ws.send(hs.writeMessage(new TextEncoder().encode('hi')));
    expect(await raw.closed).toBe(4001);
    await expectServing(p, server, keys.publicKey);
  });

  it.each([
    ['a length that is not 16 + k·514', (_s: CipherState) => new Uint8Array(16 + CELL_LEN - 1)],
    ['only a tag', () => new Uint8Array(16)],
    ['an empty message', () => new Uint8Array(0)],
    ['a flipped bit', (s: CipherState) => {
      const frame = sealFrame(s, cells(2));
      frame[100]! ^= 1;
      return frame;
    }],
    ['a frame sealed under the wrong key', () => new Uint8Array(16 + CELL_LEN).fill(7)],
  ])('after the handshake, a frame with %s closes that link (1002)', async (_what, make) => {
    const { server, keys, accepted } = await serve(p);
    const bystander = await dial(p, server.url, keys.publicKey);
    const raw = await rawHandshake(p, server.url, keys.publicKey);
    await waitFor('both links', () => accepted.length === 2);
    raw.ws.send(make(raw.send));
    expect(await raw.closed).toBe(1002);
    expect(accepted[1]!.closeReason).toMatchObject({ code: 'BAD_FRAME', fault: 'peer' });
    expect(accepted[0]!.closed).toBe(false);
    expect(bystander.closed).toBe(false);
    await expectServing(p, server, keys.publicKey);
  });

  it('a replayed frame is refused after the original is delivered', async () => {
    const { server, keys, accepted } = await serve(p);
    const raw = await rawHandshake(p, server.url, keys.publicKey);
    await waitFor('the accepted link', () => accepted.length === 1);
    const frame = sealFrame(raw.send, cells(1));
    raw.ws.send(frame);
    raw.ws.send(frame);
    expect(await raw.closed).toBe(1002);
    expect(accepted[0]!.cellsIn).toBe(1);
    expect(accepted[0]!.closeReason?.code).toBe('BAD_FRAME');
  });

  it('a message over MAX_LINK_FRAME_LEN is refused by ws itself (1009)', async () => {
    const { server, keys, accepted } = await serve(p);
    const raw = await rawHandshake(p, server.url, keys.publicKey);
    await waitFor('the accepted link', () => accepted.length === 1);
    raw.ws.send(new Uint8Array(MAX_LINK_FRAME_LEN + 1));
    expect(await raw.closed).toBe(1009);
    expect(accepted[0]!.closeReason).toMatchObject({ code: 'FRAME_TOO_LARGE', fault: 'peer' });
    await expectServing(p, server, keys.publicKey);
  });

  it('an onCell handler that throws closes only its link (1011) and is reported to onError', async () => {
    const { server, keys, accepted, errors } = await serve(p, {
      onLink: (link) => {
        accepted.push(link);
        link.onCell((buf, off) => {
          if (buf[off + 5] === 0xee) throw new Error('boom');
          link.sendRawCell(buf.subarray(off, off + CELL_LEN));
        });
      },
    });
    const bystander = await dial(p, server.url, keys.publicKey);
    const victim = await dial(p, server.url, keys.publicKey);
    await waitFor('both links', () => accepted.length === 2);
    const closedWith = new Promise<number>((r) => victim.onClose((reason) => r(reason.wsCode)));
    victim.sendCell(1, CellCommand.RELAY, new Uint8Array(CELL_PAYLOAD_LEN).fill(0xee));
    expect(await closedWith).toBe(1011);
    expect(accepted[1]!.closeReason).toMatchObject({ code: 'INTERNAL', fault: 'local' });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.code).toBe('LINK_HANDLER_FAILED');
    expect((errors[0]!.cause as Error).message).toBe('boom');
    expect(bystander.closed).toBe(false);
    await expectServing(p, server, keys.publicKey);
  });

  it('an onLink handler that throws closes that link and is reported', async () => {
    const { server, keys, errors } = await serve(p, { onLink: () => { throw new Error('no'); } });
    const link = await dial(p, server.url, keys.publicKey);
    const reason = await new Promise((r) => link.onClose(r));
    expect(reason).toMatchObject({ code: 'REMOTE', wsCode: 1011 });
    expect(errors.map((e) => e.code)).toEqual(['LINK_HANDLER_FAILED']);
  });

  it('a handshake not finished within handshakeTimeoutMs closes (4002); so does a silent TCP connection', async () => {
    const { server, keys } = await serve(p, { handshakeTimeoutMs: 150 });
    const raw = await openRaw(server.url);
    const socket = tcpConnect(server.port, '127.0.0.1');
    socket.on('error', () => {});
    const socketClosed = new Promise<void>((r) => socket.once('close', () => r()));
    cleanups.push(() => socket.destroy());
    expect(await raw.closed).toBe(4002);
    await socketClosed;
    expect(server.stats.closes.HANDSHAKE_TIMEOUT).toBe(2);
    await expectServing(p, server, keys.publicKey);
  });

  it('connectLink gives up with LINK_HANDSHAKE_TIMEOUT on a server that never answers', async () => {
    const silent = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: (ps) => [...ps][0] ?? false });
    cleanups.push(() => new Promise((r) => silent.close(r)));
    cleanups.push(() => { for (const c of silent.clients) c.terminate(); });
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as { port: number }).port;
    const start = Date.now();
    const error = await dialError({ provider: p, rng: p.randomBytes, url: `ws://127.0.0.1:${port}`, pattern: 'NK', remoteStatic: keyPair(p).publicKey, timeoutMs: 150 });
    expect(isChiveError(error, 'LINK_HANDSHAKE_TIMEOUT')).toBe(true);
    expect(Date.now() - start).toBeLessThan(2000);
  });

  it('connectLink to a closed port rejects LINK_CONNECT_FAILED', async () => {
    const { server, keys } = await serve(p);
    const url = server.url;
    await server.close();
    const error = await dialError({ provider: p, rng: p.randomBytes, url, pattern: 'NK', remoteStatic: keys.publicKey });
    expect(isChiveError(error, 'LINK_CONNECT_FAILED')).toBe(true);
  });

  it('refuses unknown subprotocols (400) and a disallowed pattern (403 → LINK_REFUSED)', async () => {
    const { server, keys } = await serve(p, { allowXK: false });
    for (const protocols of [['chive-link-zz'], [], ['chive-link-nk', 'chive-link-xk']]) {
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(server.url, protocols);
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('error', () => {});
        ws.on('open', () => resolve(101));
      });
      expect(status).toBe(400);
    }
    const error = await dialError({ provider: p, rng: p.randomBytes, url: server.url, pattern: 'XK', remoteStatic: keys.publicKey, localStaticSecret: keyPair(p).secret });
    expect(isChiveError(error, 'LINK_REFUSED')).toBe(true);
    expect((error as Error).message).toContain('403');
    expect(server.stats.upgradesRefused).toBe(4);
    await expectServing(p, server, keys.publicKey);
  });

  it('refuses links beyond maxLinks with 503 (LINK_REFUSED) until one closes', async () => {
    const { server, keys } = await serve(p, { maxLinks: 2 });
    const first = await dial(p, server.url, keys.publicKey);
    await dial(p, server.url, keys.publicKey);
    const error = await dialError({ provider: p, rng: p.randomBytes, url: server.url, pattern: 'NK', remoteStatic: keys.publicKey });
    expect(isChiveError(error, 'LINK_REFUSED')).toBe(true);
    expect((error as Error).message).toContain('503');
    first.close();
    await waitFor('a free slot', () => server.stats.linksOpen === 1);
    await expectServing(p, server, keys.publicKey);
  });

  it('a peer that stops reading makes the link congested, drains when it reads, and hits the cap', async () => {
    const { server, keys, accepted } = await serve(p, { highWaterBytes: 256 * 1024, lowWaterBytes: 64 * 1024, maxQueuedBytes: 2 * 1024 * 1024 });
    const raw = await rawHandshake(p, server.url, keys.publicKey);
    await waitFor('the accepted link', () => accepted.length === 1);
    const link = accepted[0]!;
    let drains = 0;
    link.onDrain(() => (drains += 1));
    // ws.pause() pauses the underlying socket (ws's own flow control would resume a bare
    // `_socket.pause()` as soon as its receiver drains).
    const socket = raw.ws;
    const payload = new Uint8Array(CELL_PAYLOAD_LEN);
    const pump = async (until: () => boolean): Promise<void> => {
      for (let round = 0; round < 20_000 && !until() && !link.closed; round++) {
        for (let i = 0; i < 64; i++) link.sendCell(1, CellCommand.RELAY, payload);
        await tick();
      }
    };

    socket.pause();
    await pump(() => link.congested);
    expect(link.congested).toBe(true);
    expect(link.bufferedBytes).toBeGreaterThan(256 * 1024);
    socket.resume();
    await waitFor('the drain', () => drains === 1);
    expect(link.congested).toBe(false);
    expect(link.bufferedBytes).toBeLessThanOrEqual(64 * 1024);

    socket.pause();
    await pump(() => false);
    expect(link.closeReason).toMatchObject({ code: 'OVERLOADED', fault: 'network' });
    expect(link.sendCell(1, CellCommand.RELAY, payload)).toBe(false);
    socket.resume();
    expect(await raw.closed).toBe(1006); // dropped without a close frame: the peer was not reading
    await expectServing(p, server, keys.publicKey);
  });

  it('closes a link with no cells for idleTimeoutMs (4003), not one that carries traffic', async () => {
    const { server, keys, accepted } = await serve(p, { idleTimeoutMs: 150 });
    const idle = await dial(p, server.url, keys.publicKey);
    const busy = await dial(p, server.url, keys.publicKey);
    const idleReason = new Promise((r) => idle.onClose(r));
    for (let t = 0; t < 8; t++) {
      busy.sendCell(1, CellCommand.PADDING, new Uint8Array(CELL_PAYLOAD_LEN));
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(await idleReason).toMatchObject({ code: 'REMOTE', wsCode: 4003, fault: null });
    expect(accepted[0]!.closeReason).toMatchObject({ code: 'IDLE_TIMEOUT', fault: null });
    expect(busy.closed).toBe(false);
  });

  it('keepalive pings keep an answering peer and drop one that never pongs', async () => {
    const { server, keys, accepted } = await serve(p, { keepaliveMs: 40 });
    const good = await dial(p, server.url, keys.publicKey);
    const mute = await openRaw(server.url, [LINK_SUBPROTOCOL_NK], { autoPong: false });
    let pings = 0;
    mute.ws.on('ping', () => (pings += 1));
    const hs = new HandshakeState({ provider: p, pattern: 'NK', role: 'initiator', rng: p.randomBytes, remoteStaticPublic: keys.publicKey });
    const reply = new Promise<Uint8Array>((r) => mute.ws.once('message', (data) => r(data as Buffer)));
    mute.ws.send(hs.writeMessage());
    hs.readMessage(await reply);
    await waitFor('both links', () => accepted.length === 2);
    expect(await mute.closed).toBe(1006);
    expect(pings).toBeGreaterThanOrEqual(1);
    expect(accepted[1]!.closeReason).toMatchObject({ code: 'KEEPALIVE_TIMEOUT' });
    expect(good.closed).toBe(false);
    expect(accepted[0]!.closed).toBe(false);
  });
});

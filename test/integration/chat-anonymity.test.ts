/**
 * What the network learns of a conversation, on an in-process network of 8 relays where
 * alice's guards and middles come from one half of the relays and bob's from the other
 * (ChatClientOptions.excludeRelays; a relay stays usable as a requested last hop):
 *
 *   (a) their rendezvous circuits share exactly one relay, the rendezvous point, the last
 *       hop of both;
 *   (b) no relay holds either party's address, identity key (raw, hex, base64) or message
 *       text: not the HSDir store, not the introduction / rendezvous tables, not a file in
 *       its data directory;
 *   (c) on the wire (every byte written to a TCP socket by this process, the WebSocket
 *       frames of every link parsed per RFC 6455) none of those appear, and every link
 *       frame after the Noise handshake is the frame overhead plus whole cells.
 *
 * Not a traffic-analysis test (timing, cell counts) and not the chat behaviour itself.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { readdirSync, readFileSync, statSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex, utf8 } from '../../src/bytes.js';
import { loadCryptoProvider } from '../../src/crypto/load.js';
import { decodeChatAddress } from '../../src/chat/address.js';
import { blindedPublicKey, timePeriod } from '../../src/chat/blinding.js';
import { openChatDescriptor } from '../../src/chat/descriptor.js';
import {
  AEAD_TAG_LEN, CELL_LEN, LINK_SUBPROTOCOL_NK, LINK_SUBPROTOCOL_XK, MAX_HANDSHAKE_MESSAGE_LEN, MAX_LINK_FRAME_LEN,
} from '../../src/wire/constants.js';
import { ChatClient } from '../../client/chat/chat-client.js';
import { createTestNetwork, type TestNetwork } from '../../testnet/index.js';
import { waitFor } from '../support/wait.js';
import { recordChatEvents, type ChatEventLog } from '../support/chat-events.js';

// ---------------------------------------------------------------------------------------
// Wire capture: every byte any TCP socket of this process writes
// ---------------------------------------------------------------------------------------

interface SocketCapture { readonly socket: net.Socket; readonly chunks: Buffer[] }

const captures: SocketCapture[] = [];
const captureOf = new WeakMap<net.Socket, SocketCapture>();
type WriteFn = (this: net.Socket, chunk: unknown, encoding?: unknown, cb?: unknown) => unknown;
const socketProto = net.Socket.prototype as unknown as { write: WriteFn; end: WriteFn };
const originalWrite = socketProto.write;
const originalEnd = Object.getOwnPropertyDescriptor(net.Socket.prototype, 'end');

function captureFor(socket: net.Socket): SocketCapture {
  let capture = captureOf.get(socket);
  if (!capture) {
    capture = { socket, chunks: [] };
    captureOf.set(socket, capture);
    captures.push(capture);
  }
  return capture;
}

function recordWrite(socket: net.Socket, chunk: unknown, encoding: unknown): void {
  if (chunk === null || chunk === undefined || typeof chunk === 'function') return;
  let bytes: Buffer;
  if (typeof chunk === 'string') bytes = Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  else if (chunk instanceof Uint8Array) bytes = Buffer.from(chunk); // a copy: writers may reuse their buffers
  else throw new Error(`capture: a socket write of ${typeof chunk}`);
  captureFor(socket).chunks.push(bytes);
}

/** Sockets announced by net itself (connect / accept), so one that writes past our hooks is still seen. */
const SOCKET_CHANNELS = ['net.client.socket', 'net.server.socket'];
const onSocket = (message: unknown): void => void captureFor((message as { socket: net.Socket }).socket);

function startCapture(): void {
  // net.Socket inherits write from Writable and has its own end, which writes its chunk
  // through Writable's internals (not this.write): both are wrapped.
  socketProto.write = function (this: net.Socket, chunk, encoding, cb) {
    recordWrite(this, chunk, encoding);
    return originalWrite.call(this, chunk, encoding, cb);
  };
  socketProto.end = function (this: net.Socket, chunk, encoding, cb) {
    recordWrite(this, chunk, encoding);
    return (originalEnd!.value as WriteFn).call(this, chunk, encoding, cb);
  };
  for (const name of SOCKET_CHANNELS) diagnosticsChannel.subscribe(name, onSocket);
}

function stopCapture(): void {
  delete (socketProto as { write?: WriteFn }).write;
  Object.defineProperty(net.Socket.prototype, 'end', originalEnd!);
  for (const name of SOCKET_CHANNELS) diagnosticsChannel.unsubscribe(name, onSocket);
}

/** One WebSocket message (fragments joined, client masking removed). */
interface WsMessage { readonly opcode: number; readonly payload: Buffer }

interface LinkStream {
  /** The Noise pattern the upgrade negotiated, and which side this socket is. */
  readonly pattern: 'NK' | 'XK';
  readonly role: 'initiator' | 'responder';
  readonly messages: WsMessage[];
}

/**
 * Parses what one socket wrote, if it is a link connection: the HTTP upgrade request (the
 * initiator) or the 101 answer (the responder), then RFC 6455 frames to the last byte.
 * Returns null for any other connection (directory HTTP, the echo server).
 */
function parseLinkStream(bytes: Buffer): LinkStream | null {
  const headEnd = bytes.indexOf('\r\n\r\n');
  if (headEnd < 0) return null;
  const head = bytes.subarray(0, headEnd).toString('latin1');
  const isRequest = /^GET /.test(head) && /^upgrade:\s*websocket\s*$/im.test(head);
  const isAnswer = /^HTTP\/1\.1 101 /.test(head);
  if (!isRequest && !isAnswer) return null;
  const protocol = /^sec-websocket-protocol:\s*(.+?)\s*$/im.exec(head)?.[1];
  const pattern = protocol === LINK_SUBPROTOCOL_NK ? 'NK' : protocol === LINK_SUBPROTOCOL_XK ? 'XK' : null;
  if (pattern === null) throw new Error(`a WebSocket upgrade with subprotocol ${protocol}`);
  const messages: WsMessage[] = [];
  let off = headEnd + 4;
  let partial: { opcode: number; parts: Buffer[] } | null = null;
  while (off < bytes.length) {
    if (bytes.length - off < 2) throw new Error('a truncated WebSocket frame header');
    const b0 = bytes[off]!;
    const b1 = bytes[off + 1]!;
    off += 2;
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    let length = b1 & 0x7f;
    if (length === 126) {
      length = bytes.readUInt16BE(off);
      off += 2;
    } else if (length === 127) {
      length = Number(bytes.readBigUInt64BE(off));
      off += 8;
    }
    let mask: Buffer | null = null;
    if ((b1 & 0x80) !== 0) {
      mask = bytes.subarray(off, off + 4);
      off += 4;
    }
    if (off + length > bytes.length) throw new Error('a truncated WebSocket frame payload');
    const payload = Buffer.from(bytes.subarray(off, off + length));
    off += length;
    if (mask) for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[i & 3]!;
    if (opcode >= 0x8) {
      messages.push({ opcode, payload }); // control frames are never fragmented
      continue;
    }
    if (opcode !== 0) partial = { opcode, parts: [] };
    if (!partial) throw new Error('a continuation frame without a first frame');
    partial.parts.push(payload);
    if (fin) {
      messages.push({ opcode: partial.opcode, payload: Buffer.concat(partial.parts) });
      partial = null;
    }
  }
  return { pattern, role: isRequest ? 'initiator' : 'responder', messages };
}

/**
 * Handshake messages a side writes: the patterns' messages alternate, initiator first
 * (src/noise/handshake.ts: NK  -> e, es  <- e, ee;  XK  -> e, es  <- e, ee  -> s, se).
 */
const HANDSHAKE_MESSAGES = { NK: 2, XK: 3 } as const;
function handshakeMessagesWritten(pattern: 'NK' | 'XK', role: 'initiator' | 'responder'): number {
  const n = HANDSHAKE_MESSAGES[pattern];
  return role === 'initiator' ? Math.ceil(n / 2) : Math.floor(n / 2);
}

const [OPCODE_TEXT, OPCODE_BINARY] = [0x1, 0x2];

// ---------------------------------------------------------------------------------------
// Secrets to look for
// ---------------------------------------------------------------------------------------

interface Needle { readonly what: string; readonly bytes: Buffer }

function needlesForParty(name: string, address: string, identity: Uint8Array): Needle[] {
  const raw = Buffer.from(identity);
  return [
    { what: `${name}'s address`, bytes: Buffer.from(address, 'latin1') },
    { what: `${name}'s address (upper case)`, bytes: Buffer.from(address.toUpperCase(), 'latin1') },
    { what: `${name}'s identity key`, bytes: raw },
    { what: `${name}'s identity key (hex)`, bytes: Buffer.from(toHex(identity), 'latin1') },
    { what: `${name}'s identity key (HEX)`, bytes: Buffer.from(toHex(identity).toUpperCase(), 'latin1') },
    { what: `${name}'s identity key (base64)`, bytes: Buffer.from(raw.toString('base64').replace(/=+$/, ''), 'latin1') },
    { what: `${name}'s identity key (base64url)`, bytes: Buffer.from(raw.toString('base64url'), 'latin1') },
  ];
}

/** The needles found in `haystack`, by name. */
function found(needles: readonly Needle[], haystack: Uint8Array): string[] {
  const hay = Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength);
  return needles.filter((n) => hay.indexOf(n.bytes) >= 0).map((n) => n.what);
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...filesUnder(path));
    else out.push(path);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The conversation
// ---------------------------------------------------------------------------------------

type Log = ChatEventLog;
const record = recordChatEvents;

describe('what the network learns of a conversation', () => {
  const provider = loadCryptoProvider();
  let testnet: TestNetwork;
  let alice: ChatClient;
  let bob: ChatClient;
  let aliceLog: Log;
  let bobLog: Log;
  /** Relay nicknames each party may use as guard or middle (interleaved, so each half has an exit). */
  const aliceHalf = new Set<string>();
  const bobHalf = new Set<string>();
  const texts: string[] = [];

  beforeAll(async () => {
    startCapture();
    testnet = await createTestNetwork({ relays: 8, provider });
    await testnet.ready();
    testnet.relays.forEach((r, i) => (i % 2 === 0 ? aliceHalf : bobHalf).add(r.nickname));
    const identitiesOf = (half: Set<string>) => testnet.relays.filter((r) => half.has(r.nickname)).map((r) => r.relay.keys.identity);
    const dir = mkdtempSync(join(tmpdir(), 'chive-chat-anonymity-'));
    const chat = (name: string, excluded: Set<string>) => new ChatClient({
      profileDir: join(dir, name),
      network: testnet.network,
      name,
      provider,
      excludeRelays: identitiesOf(excluded),
      timings: { requestTimeoutMs: 5_000, rendezvousTimeoutMs: 5_000 },
    });
    alice = chat('alice', bobHalf);
    bob = chat('bob', aliceHalf);
    aliceLog = record(alice);
    bobLog = record(bob);
    await Promise.all([alice.start(), bob.start()]);

    alice.addContact(bob.address, 'bob');
    await waitFor('bob sees alice\'s request', () => bobLog.request.some((r) => r.from === alice.address), 15_000);
    bob.accept(alice.address);
    const suffix = toHex(provider.randomBytes(6));
    for (let i = 0; i < 3; i++) {
      const a = `alice whispers secret ${i} ${suffix}`;
      const b = `bob answers quietly ${i} ${suffix} ✓`;
      texts.push(a, b);
      alice.send(bob.address, a);
      bob.send(alice.address, b);
    }
    await waitFor('every message delivered both ways', () => aliceLog.delivered.length >= 3 && bobLog.delivered.length >= 3, 20_000);
    expect(bobLog.message.map((m) => m.text)).toEqual(texts.filter((_, i) => i % 2 === 0));
    expect(aliceLog.message.map((m) => m.text)).toEqual(texts.filter((_, i) => i % 2 === 1));
    // Both ends settled on one spliced circuit pair (the tie-break closes a second one).
    await waitFor('one rendezvous circuit each, to one rendezvous point', () => {
      const [a] = rendezvousHops(alice, bob.address);
      const [b] = rendezvousHops(bob, alice.address);
      return a && b && rendezvousHops(alice, bob.address).length === 1 && rendezvousHops(bob, alice.address).length === 1 && a.at(-1) === b.at(-1);
    }, 15_000);
  }, 90_000);

  afterAll(async () => {
    stopCapture();
    for (const chat of [alice, bob]) await chat?.close().catch(() => undefined);
    await testnet?.close();
  });

  function rendezvousHops(chat: ChatClient, contact: string): string[][] {
    return chat.circuits().filter((c) => c.purpose === 'rendezvous' && c.contact === contact).map((c) => c.hops.map((h) => h.nickname));
  }

  const allNeedles = (): Needle[] => [
    ...needlesForParty('alice', alice.address, decodeChatAddress(provider, alice.address)),
    ...needlesForParty('bob', bob.address, decodeChatAddress(provider, bob.address)),
    ...texts.map((t, i) => ({ what: `message ${i}`, bytes: Buffer.from(utf8(t)) })),
  ];

  it('(a) their rendezvous circuits share exactly one relay: the rendezvous point, last hop of both', () => {
    const [a] = rendezvousHops(alice, bob.address);
    const [b] = rendezvousHops(bob, alice.address);
    expect(a).toHaveLength(3);
    expect(b).toHaveLength(3);
    const rp = a!.at(-1)!;
    expect(b!.at(-1)).toBe(rp);
    expect(a!.filter((n) => b!.includes(n))).toEqual([rp]);
    // Guards and middles come from each party's own half (the rendezvous point may be anyone's).
    expect(a!.slice(0, -1).every((n) => aliceHalf.has(n))).toBe(true);
    expect(b!.slice(0, -1).every((n) => bobHalf.has(n))).toBe(true);
    // The relay named is the one that spliced them.
    const rpRelay = testnet.relays.find((r) => r.nickname === rp)!;
    expect(rpRelay.relay.node.counters.chat.rendezvousSpliced).toBeGreaterThanOrEqual(1);
    // Their introduction circuits keep to the same rule.
    for (const [chat, half] of [[alice, aliceHalf], [bob, bobHalf]] as const) {
      const intro = chat.circuits().filter((c) => c.purpose === 'intro');
      expect(intro.length).toBeGreaterThan(0);
      for (const c of intro) expect(c.hops.slice(0, -1).every((h) => half.has(h.nickname))).toBe(true);
    }
  });

  it('(b) no relay stores either party\'s address, identity key or message text', () => {
    const needles = allNeedles();
    const period = timePeriod(Date.now());
    let descriptorsSeen = 0;
    let introKeysSeen = 0;
    let cookiesSeen = 0;
    for (const { nickname, relay } of testnet.relays) {
      const chat = relay.node.chat;
      for (const { key, bytes } of chat.hsdir.stored()) {
        descriptorsSeen += 1;
        expect(found(needles, bytes), `${nickname}: stored descriptor`).toEqual([]);
        expect(found(needles, utf8(key)), `${nickname}: descriptor key`).toEqual([]);
      }
      for (const key of chat.intro.keys()) {
        introKeysSeen += 1;
        expect(found(needles, utf8(key)), `${nickname}: intro table`).toEqual([]);
      }
      const { waiting, used } = chat.rendezvous.keys();
      for (const key of [...waiting, ...used]) {
        cookiesSeen += 1;
        expect(found(needles, utf8(key)), `${nickname}: rendezvous table`).toEqual([]);
      }
      const files = filesUnder(join(testnet.dir, nickname));
      expect(files.length, `${nickname}: data directory`).toBeGreaterThan(0);
      for (const file of files) expect(found(needles, readFileSync(file)), file).toEqual([]);
    }
    // What was searched is the real thing: both descriptors are held (under blinded keys
    // only their owners' contacts can compute), the intro tables hold the auth keys they
    // list, and the rendezvous point remembers a cookie.
    for (const party of [alice, bob]) {
      const identity = decodeChatAddress(provider, party.address);
      const blinded = blindedPublicKey(provider, identity, period);
      const held = testnet.relays.map((r) => r.relay.node.chat.hsdir.fetch(blinded, period, Date.now())).filter((d) => d !== undefined);
      expect(held.length).toBeGreaterThan(0);
      const { introPoints } = openChatDescriptor(provider, held[0]!, { identityPub: identity, currentPeriod: period });
      for (const p of introPoints) {
        const ip = testnet.relays.find((r) => provider.equal(r.relay.keys.identity, p.relayIdentity))!;
        expect(ip.relay.node.chat.intro.keys()).toContain(toHex(p.authKey));
      }
    }
    expect(descriptorsSeen).toBeGreaterThanOrEqual(2);
    expect(introKeysSeen).toBeGreaterThanOrEqual(2);
    expect(cookiesSeen).toBeGreaterThanOrEqual(1);
  });

  it('(c) on the wire: no address, identity key or text in any byte written, and every link frame is whole cells', () => {
    const needles = allNeedles();
    let links = 0;
    let dataFrames = 0;
    let cellsCarried = 0;
    let bytesCaptured = 0;
    const seenSubprotocols = new Set<string>();
    for (const [i, capture] of captures.entries()) {
      const bytes = Buffer.concat(capture.chunks);
      // Nothing bypassed the hooks: the socket's own count of bytes written is what we saw.
      expect(capture.socket.bytesWritten, `socket ${i}: bytes written vs captured`).toBe(bytes.length);
      bytesCaptured += bytes.length;
      expect(found(needles, bytes), `socket ${i}: raw bytes`).toEqual([]);
      const stream = parseLinkStream(bytes);
      if (!stream) continue;
      links += 1;
      seenSubprotocols.add(stream.pattern);
      const binary = stream.messages.filter((m) => m.opcode === OPCODE_BINARY);
      expect(stream.messages.filter((m) => m.opcode === OPCODE_TEXT), `socket ${i}: text frames`).toEqual([]);
      const handshake = handshakeMessagesWritten(stream.pattern, stream.role);
      for (const m of binary.slice(0, handshake)) expect(m.payload.length).toBeLessThanOrEqual(MAX_HANDSHAKE_MESSAGE_LEN);
      for (const [j, m] of binary.slice(handshake).entries()) {
        const body = m.payload.length - AEAD_TAG_LEN;
        const whole = body > 0 && body % CELL_LEN === 0 && m.payload.length <= MAX_LINK_FRAME_LEN;
        expect(whole, `socket ${i} (${stream.pattern} ${stream.role}) frame ${j}: ${m.payload.length} bytes`).toBe(true);
        expect(found(needles, m.payload), `socket ${i} frame ${j}`).toEqual([]);
        dataFrames += 1;
        cellsCarried += body / CELL_LEN;
      }
    }
    // The capture saw the network: client (NK) and relay-to-relay (XK) links both ways,
    // and enough cells to have carried the conversation and everything around it.
    expect(seenSubprotocols).toEqual(new Set(['NK', 'XK']));
    expect(links).toBeGreaterThanOrEqual(2 * testnet.relays.length);
    expect(dataFrames).toBeGreaterThan(100);
    expect(cellsCarried).toBeGreaterThanOrEqual(dataFrames);
    expect(bytesCaptured).toBeGreaterThan(dataFrames * CELL_LEN);
    // The search itself works on these bytes: the link subprotocol is in the clear.
    const everything = Buffer.concat(captures.flatMap((c) => c.chunks));
    expect(found([{ what: 'subprotocol', bytes: Buffer.from(LINK_SUBPROTOCOL_NK) }], everything)).toEqual(['subprotocol']);
  });
});

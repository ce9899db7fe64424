/**
 * Hostile input against the chat roles over real loopback links: refused with a typed peer error and a named
 * refusal counter (never an internal error), while whoever refused keeps serving everyone else. Relay side: the
 * cell-level harness (raw-circuit.ts) against real RelayNodes, both providers; client side: ChatClients fed
 * hostile INTRODUCE2 through a real introduction point and malformed CHAT frames by a peer. Not the honest path.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { concatBytes, toHex } from '../../src/bytes.js';
import { allCryptoProviders, loadCryptoProvider } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { decodeChatAddress, encodeChatAddress } from '../../src/chat/address.js';
import { blindedPublicKey, timePeriod } from '../../src/chat/blinding.js';
import { encodeChatFrame } from '../../src/chat/chat-frame.js';
import { openChatDescriptor, sealChatDescriptor, type ChatDescriptorContent } from '../../src/chat/descriptor.js';
import { e2eReceiverRespond, e2eSenderFinish, e2eSenderStart } from '../../src/chat/e2e-handshake.js';
import {
  checkEstablishIntro, decodeHsdirFound, decodeHsdirStored, decodeIntroduceAck, encodeEstablishIntro, encodeHsdirFetch, encodeRendezvous1,
} from '../../src/chat/intro-messages.js';
import { sealIntroduction } from '../../src/chat/introduce.js';
import { isChiveError } from '../../src/errors.js';
import type { HopKeys } from '../../src/onion/hop-keys.js';
import { RelayLayer } from '../../src/onion/relay-layer.js';
import { decodeCell } from '../../src/wire/cell.js';
import {
  CHAT_COOKIE_LEN, CHAT_DESCRIPTOR_MAX_LEN, CHAT_DESCRIPTOR_PERIOD_WINDOW, CHAT_E2E_REPLY_LEN, CHAT_INTRODUCE_LEN, CHAT_INTRODUCE_MAX_SKEW_MS,
  ED25519_KEY_LEN, HsdirFetchStatus, HsdirStoreStatus, IntroduceAckStatus,
} from '../../src/wire/constants.js';
import { decodeRelayMessageInCell, type RelayMessage } from '../../src/wire/relay-message.js';
import { startRelay, staticDirectoryView, type ListedRelay, type RefusalReason, type RunningRelay } from '../../relay/index.js';
import { ChatClient } from '../../client/chat/chat-client.js';
import type { ChatEvents } from '../../client/chat/api.js';
import type { ChatSession } from '../../client/chat/session.js';
import { createTestNetwork, type TestNetwork } from '../../testnet/index.js';
import { RawCircuit, RawLink, rawCircuit, testRng, type RawEvent } from './raw-circuit.js';
import { waitFor } from '../support/wait.js';

type ChatKind = Extract<RelayMessage, { body: Uint8Array }>['kind'];

/** The next answer on `c`: a relay message or its DESTROY. */
const answer = (c: RawCircuit): Promise<RawEvent> => c.next((e) => e.kind === 'relay' || e.kind === 'destroy');

/** Sends a chat message with `body` to `hop` and returns the answer. */
const ask = (c: RawCircuit, hop: number, kind: ChatKind, body: Uint8Array): Promise<RawEvent> => (c.send(hop, { kind, body } as RelayMessage), answer(c));

/** An INTRODUCE1 body naming `authKey` whose sealed part is noise (only the receiver can tell). */
const noiseIntroduction = (authKey: Uint8Array) => concatBytes(authKey, testRng(CHAT_INTRODUCE_LEN - ED25519_KEY_LEN));
/** Sends INTRODUCE1 with `body` to `hop` and returns the INTRODUCE_ACK status. */
const introduceAck = async (c: RawCircuit, hop: number, body: Uint8Array) => decodeIntroduceAck(bodyOf(await ask(c, hop, 'INTRODUCE1', body), 'INTRODUCE_ACK', hop));

/** A copy of `bytes` with `bits` of byte `at` flipped. */
function flipped(bytes: Uint8Array, at: number, bits = 0x01): Uint8Array {
  const copy = bytes.slice();
  copy[at]! ^= bits;
  return copy;
}

/** The body of a relay answer of `kind` from `hop` (fails the test otherwise). */
function bodyOf(e: RawEvent, kind: ChatKind, hop: number): Uint8Array {
  expect(e).toMatchObject({ kind: 'relay', hop, msg: { kind } });
  return (e as { msg: { body: Uint8Array } }).msg.body;
}

/** On `c` (with a virtual hop): the peer's cells, checked with `fromPeer` as client/peer-end.ts does; the rest to `c.events`. */
function receiveFromPeer(provider: CryptoProvider, c: RawCircuit, fromPeer: HopKeys): RelayMessage[] {
  const fromPeerLayer = new RelayLayer(provider, fromPeer);
  const received: RelayMessage[] = [];
  c.raw.on(c.circId, (cell) => {
    const decoded = decodeCell(cell);
    if (decoded.kind !== 'RELAY') return void c.events.push(decoded.kind === 'DESTROY' ? { kind: 'destroy', reason: decoded.reason } : { kind: 'bad', error: decoded.kind });
    const peeled = c.layers.decryptBackwardOrBeyond(decoded.payload.slice());
    if (peeled.hop !== 'beyond') return void c.events.push({ kind: 'relay', hop: peeled.hop, msg: decodeRelayMessageInCell(peeled.body) });
    const result = fromPeerLayer.processForward(peeled.payload);
    if (!result.recognized) return void c.events.push({ kind: 'bad', error: 'a cell from the peer that is not for us' });
    const msg = decodeRelayMessageInCell(result.body);
    received.push(msg.kind === 'CHAT' ? { kind: 'CHAT', body: msg.body.slice() } : msg);
  });
  return received;
}

/** Descriptors one source (the link a storing circuit comes in on) may keep at the HSDir under test. */
const HSDIR_QUOTA = 3;

describe.each(allCryptoProviders())('relay chat roles under hostile input ($name)', (provider) => {
  const relays: RunningRelay[] = [];
  const internalErrors: unknown[] = [];
  const info = (i: number): ListedRelay => relays[i]!.info;
  /** Guard, middle, and the relay under test (introduction point, rendezvous point, HSDir). */
  const path = () => [info(0), info(1), info(2)];
  const node = () => relays[2]!.node;
  const last = 2;
  let raw: RawLink;

  beforeAll(async () => {
    const base = mkdtempSync(join(tmpdir(), 'chive-chat-hostile-'));
    const limits = { hsdirPerSourceQuota: HSDIR_QUOTA };
    for (let i = 0; i < 3; i++) relays.push(await startRelay({ dataDir: join(base, `r${i}`), provider, limits, onInternalError: (e) => internalErrors.push(e) }));
    const view = staticDirectoryView(relays.map((r) => r.info));
    relays.forEach((r) => r.setDirectory(view));
    // Every test's circuits share one link to the guard: what one refusal destroys, the others outlive.
    raw = await RawLink.open(provider, info(0));
  });
  afterAll(() => (raw.link.close(), Promise.all(relays.map((r) => r.close()))));
  /** Refusal counts of relay `i` since `before`, only the non-zero ones. */
  const refusalsSince = (before: Record<RefusalReason, number>, i = last): Partial<Record<RefusalReason, number>> =>
    Object.fromEntries(Object.entries(relays[i]!.node.counters.refusals).filter(([k, v]) => v !== before[k as RefusalReason]).map(([k, v]) => [k, v - before[k as RefusalReason]]));
  const snapshot = (i = last) => ({ ...relays[i]!.node.counters.refusals });
  /** What `kind` with `body` to `hop` of a fresh circuit gets: its answer's kind ('destroy' or 'relay'). */
  const onFresh = async (hop: number, kind: ChatKind, body: Uint8Array) => (await ask(await rawCircuit(raw, path()), hop, kind, body)).kind;

  /** An introduction circuit waiting at the relay under test, and its auth key. */
  async function establishIntro(): Promise<{ circuit: RawCircuit; authKey: Uint8Array }> {
    const [circuit, authSeed] = [await rawCircuit(raw, path()), testRng(32)];
    expect(bodyOf(await ask(circuit, last, 'ESTABLISH_INTRO', encodeEstablishIntro(provider, authSeed, info(last).identity)), 'INTRO_ESTABLISHED', last)).toHaveLength(0);
    return { circuit, authKey: provider.ed25519PublicKey(authSeed) };
  }

  /** Proves the introduction circuit still serves: a fresh INTRODUCE1 reaches it unchanged. */
  async function introStillServes(intro: { circuit: RawCircuit; authKey: Uint8Array }): Promise<void> {
    const body = noiseIntroduction(intro.authKey);
    expect(await introduceAck(await rawCircuit(raw, path()), last, body)).toBe(IntroduceAckStatus.OK);
    expect(bodyOf(await answer(intro.circuit), 'INTRODUCE2', last)).toEqual(body);
  }

  it('destroys a circuit sending a malformed ESTABLISH_INTRO; other circuits on the link keep working', async () => {
    const [intro, good] = [await establishIntro(), encodeEstablishIntro(provider, testRng(32), info(last).identity)];
    const cases: [string, Uint8Array, string][] = [
      ['a bad signature', flipped(good, ED25519_KEY_LEN + 7), 'BAD_INTRODUCTION'],
      ['a signature made for another relay', encodeEstablishIntro(provider, testRng(32), info(1).identity), 'BAD_INTRODUCTION'],
      ['a truncated body', good.subarray(0, good.length - 1), 'TRUNCATED'],
      ['trailing bytes', concatBytes(good, Uint8Array.of(0)), 'OVER_LENGTH'],
      ['an empty body', new Uint8Array(0), 'TRUNCATED'],
    ];
    for (const [what, body, code] of cases) {
      // The typed error the relay acts on, and what it does with it on the wire.
      expect(() => checkEstablishIntro(provider, body, info(last).identity), what).toThrowError(expect.objectContaining({ code }));
      const before = snapshot();
      expect(await onFresh(last, 'ESTABLISH_INTRO', body), what).toBe('destroy');
      expect(refusalsSince(before), what).toEqual({ bad_relay_message: 1 });
    }
    expect(node().chat.intro.keys()).toContain(toHex(intro.authKey));
    await introStillServes(intro);
  });

  it('answers a garbage INTRODUCE1 with MALFORMED and an unknown auth key with NO_SUCH_INTRO, keeping the circuit', async () => {
    const intro = await establishIntro();
    const sender = await rawCircuit(raw, path());
    const statusFor = (body: Uint8Array) => introduceAck(sender, last, body);
    const before = snapshot();
    for (const garbage of [testRng(10), new Uint8Array(0), testRng(CHAT_INTRODUCE_LEN - 1), testRng(CHAT_INTRODUCE_LEN + 1)]) expect(await statusFor(garbage)).toBe(IntroduceAckStatus.MALFORMED);
    expect(await statusFor(testRng(CHAT_INTRODUCE_LEN))).toBe(IntroduceAckStatus.NO_SUCH_INTRO);
    expect(refusalsSince(before)).toEqual({ bad_chat_message: 4, no_such_intro: 1 });
    // The same circuit still introduces, and the introduction circuit got nothing of the garbage.
    const body = noiseIntroduction(intro.authKey);
    expect(await statusFor(body)).toBe(IntroduceAckStatus.OK);
    expect(bodyOf(await answer(intro.circuit), 'INTRODUCE2', last)).toEqual(body);
    expect(intro.circuit.events).toEqual([]);
  });

  it('refuses reused and unknown cookies by destroying the circuit, splices a good pair, and carries cells across the splice', async () => {
    const [cookie, sender] = [testRng(CHAT_COOKIE_LEN), await rawCircuit(raw, path())];
    expect(bodyOf(await ask(sender, last, 'ESTABLISH_RENDEZVOUS', cookie), 'RENDEZVOUS_ESTABLISHED', last)).toHaveLength(0);
    expect(node().chat.rendezvous.keys().waiting).toContain(toHex(cookie));
    let before = snapshot();
    expect(await onFresh(last, 'ESTABLISH_RENDEZVOUS', cookie)).toBe('destroy');
    expect(await onFresh(last, 'ESTABLISH_RENDEZVOUS', cookie.subarray(1))).toBe('destroy');
    expect(await onFresh(last, 'ESTABLISH_RENDEZVOUS', concatBytes(cookie, Uint8Array.of(0)))).toBe('destroy');
    expect(await onFresh(last, 'RENDEZVOUS1', encodeRendezvous1(testRng(CHAT_COOKIE_LEN), testRng(CHAT_E2E_REPLY_LEN)))).toBe('destroy');
    expect(refusalsSince(before)).toEqual({ cookie_reuse: 1, bad_relay_message: 4, unknown_cookie: 1 });
    // The waiting circuit was not disturbed: a receiver (on another link) splices with it.
    const introEncSecret = testRng(32);
    const ids = { senderIdentityPub: provider.ed25519PublicKey(testRng(32)), receiverIdentityPub: provider.ed25519PublicKey(testRng(32)), introEncPub: provider.x25519PublicKey(introEncSecret) };
    const start = e2eSenderStart(provider, testRng);
    const { reply, keys } = e2eReceiverRespond(provider, testRng, { clientPublic: start.clientPublic, introEncSecret, ...ids });
    const receiver = await rawCircuit(await RawLink.open(provider, info(1)), [info(1), info(0), info(2)]);
    const spliced = node().counters.chat.rendezvousSpliced;
    receiver.send(last, { kind: 'RENDEZVOUS1', body: encodeRendezvous1(cookie, reply) });
    const senderKeys = e2eSenderFinish(provider, start.state, bodyOf(await answer(sender), 'RENDEZVOUS2', last), ids);
    expect(node().counters.chat.rendezvousSpliced).toBe(spliced + 1);
    expect(node().chat.rendezvous.keys()).toMatchObject({ waiting: [], used: expect.arrayContaining([toHex(cookie)]) });
    // Each side adds the other as a virtual fourth hop; CHAT cells cross the splice both ways.
    sender.layers.addVirtualHop(senderKeys.senderToReceiver);
    receiver.layers.addVirtualHop(keys.receiverToSender);
    const [atReceiver, atSender] = [receiveFromPeer(provider, receiver, keys.senderToReceiver), receiveFromPeer(provider, sender, senderKeys.receiverToSender)];
    const [toReceiver, toSender] = [encodeChatFrame({ kind: 'ACK', seq: 7 }), encodeChatFrame({ kind: 'ACK', seq: 9 })];
    sender.send(3, { kind: 'CHAT', body: toReceiver });
    receiver.send(3, { kind: 'CHAT', body: toSender });
    await waitFor('a CHAT cell each way across the splice', () => atReceiver.length > 0 && atSender.length > 0);
    expect([atReceiver, atSender]).toEqual([[{ kind: 'CHAT', body: toReceiver }], [{ kind: 'CHAT', body: toSender }]]);
    // A used cookie stays refused: neither registered again nor spliced again.
    before = snapshot();
    expect(await onFresh(last, 'ESTABLISH_RENDEZVOUS', cookie)).toBe('destroy');
    expect(await onFresh(last, 'RENDEZVOUS1', encodeRendezvous1(cookie, reply))).toBe('destroy');
    // A chat message to the rendezvous point on a spliced circuit: both circuits go.
    sender.send(last, { kind: 'HSDIR_FETCH', body: encodeHsdirFetch(testRng(32), 1) });
    expect((await answer(sender)).kind).toBe('destroy');
    expect((await answer(receiver)).kind).toBe('destroy');
    expect(refusalsSince(before)).toEqual({ cookie_reuse: 1, unknown_cookie: 1, bad_relay_message: 3 });
  });

  it('stores only well-formed, signed, current descriptors, by revision, within quota, and finds the good one', async () => {
    const [c, period, seed, other] = [await rawCircuit(raw, path()), timePeriod(Date.now()), testRng(32), testRng(32)];
    const content: ChatDescriptorContent = { introEncKey: provider.x25519PublicKey(testRng(32)), introPoints: [{ relayIdentity: info(0).identity, authKey: provider.ed25519PublicKey(testRng(32)) }] };
    const descriptor = (revision: number, p = period, identitySeed = seed) => sealChatDescriptor(provider, testRng, { identitySeed, period: p, revision, content });
    const store = async (body: Uint8Array) => decodeHsdirStored(bodyOf(await ask(c, last, 'HSDIR_STORE', body), 'HSDIR_STORED', last));
    const fetchBody = (identitySeed: Uint8Array) => encodeHsdirFetch(blindedPublicKey(provider, provider.ed25519PublicKey(identitySeed), period), period);
    const fetch = async (identitySeed: Uint8Array, on = c) => decodeHsdirFound(bodyOf(await ask(on, last, 'HSDIR_FETCH', fetchBody(identitySeed)), 'HSDIR_FOUND', last));
    const good = descriptor(5);
    const refused: [string, Uint8Array][] = [
      ['random bytes', testRng(120)],
      ['a tampered descriptor', flipped(good, 80)],
      ['an unknown version', flipped(good, 0, 0x03)],
      ['trailing bytes', concatBytes(good, Uint8Array.of(0))],
      ['an over-size descriptor', concatBytes(good, new Uint8Array(CHAT_DESCRIPTOR_MAX_LEN + 1 - good.length))],
      ['a period too far ahead', descriptor(5, period + CHAT_DESCRIPTOR_PERIOD_WINDOW + 1)],
      ['a period too far behind', descriptor(5, period - CHAT_DESCRIPTOR_PERIOD_WINDOW - 1)],
    ];
    const before = snapshot();
    for (const [what, body] of refused) expect(await store(body), what).toBe(HsdirStoreStatus.REJECTED);
    expect(await fetch(seed)).toEqual({ status: HsdirFetchStatus.NOT_FOUND });
    expect(await store(good)).toBe(HsdirStoreStatus.STORED);
    expect(await fetch(seed)).toEqual({ status: HsdirFetchStatus.FOUND, descriptor: good });
    for (const revision of [4, 5]) expect(await store(descriptor(revision))).toBe(HsdirStoreStatus.STALE_REVISION);
    expect(await fetch(seed)).toEqual({ status: HsdirFetchStatus.FOUND, descriptor: good });
    const newer = descriptor(6);
    expect(await store(newer)).toBe(HsdirStoreStatus.STORED);
    expect(await fetch(seed)).toEqual({ status: HsdirFetchStatus.FOUND, descriptor: newer });
    // The per-source quota: the previous period (within the window) and one other identity fit, the next does not.
    expect(await store(descriptor(1, period - 1))).toBe(HsdirStoreStatus.STORED);
    expect(await store(descriptor(1, period, other))).toBe(HsdirStoreStatus.STORED);
    expect(await store(descriptor(1, period, testRng(32)))).toBe(HsdirStoreStatus.OVER_QUOTA);
    expect(await fetch(other)).toMatchObject({ status: HsdirFetchStatus.FOUND });
    expect(await fetch(seed)).toEqual({ status: HsdirFetchStatus.FOUND, descriptor: newer });
    expect(node().chat.hsdir.size).toBe(HSDIR_QUOTA);
    // A malformed HSDIR_FETCH is no question to answer: the circuit goes. Every refusal was counted by its reason.
    expect((await ask(c, last, 'HSDIR_FETCH', testRng(35))).kind).toBe('destroy');
    expect(refusalsSince(before)).toEqual({ hsdir_rejected: refused.length + 2, hsdir_quota: 1, bad_relay_message: 1 });
    expect(await fetch(seed, await rawCircuit(raw, path()))).toEqual({ status: HsdirFetchStatus.FOUND, descriptor: newer });
  });

  it('destroys circuits carrying chat messages where no relay takes them: middle hops, client-only and CHAT messages, a second role', async () => {
    const intro = await establishIntro();
    const cases: [string, number, ChatKind, Uint8Array][] = [
      ['ESTABLISH_INTRO at a middle hop', 1, 'ESTABLISH_INTRO', encodeEstablishIntro(provider, testRng(32), info(1).identity)],
      ['ESTABLISH_RENDEZVOUS at a middle hop', 1, 'ESTABLISH_RENDEZVOUS', testRng(CHAT_COOKIE_LEN)],
      ['HSDIR_FETCH at the first hop', 0, 'HSDIR_FETCH', encodeHsdirFetch(testRng(32), 1)],
      ['INTRODUCE1 at a middle hop', 1, 'INTRODUCE1', noiseIntroduction(intro.authKey)],
      ['a CHAT frame at the last hop', last, 'CHAT', encodeChatFrame({ kind: 'PING', nonce: testRng(8) })],
      ['a CHAT frame at a middle hop', 1, 'CHAT', encodeChatFrame({ kind: 'PING', nonce: testRng(8) })],
      ['INTRODUCE2 (clients only) at the last hop', last, 'INTRODUCE2', testRng(CHAT_INTRODUCE_LEN)],
      ['RENDEZVOUS2 (clients only) at the last hop', last, 'RENDEZVOUS2', testRng(CHAT_E2E_REPLY_LEN)],
      ['HSDIR_FOUND (clients only) at the last hop', last, 'HSDIR_FOUND', Uint8Array.of(HsdirFetchStatus.NOT_FOUND)],
    ];
    for (const [what, hop, kind, body] of cases) {
      const before = snapshot(hop);
      expect(await onFresh(hop, kind, body), what).toBe('destroy');
      expect(refusalsSince(before, hop), what).toEqual({ bad_relay_message: 1 });
    }
    // A circuit with a chat role takes no second one.
    const second = await establishIntro();
    expect((await ask(second.circuit, last, 'ESTABLISH_RENDEZVOUS', testRng(CHAT_COOKIE_LEN))).kind).toBe('destroy');
    expect(node().chat.intro.keys()).not.toContain(toHex(second.authKey));
    await introStillServes(intro);
  });

  it('reported every refusal above as a typed peer error, never an internal one', () => {
    expect(internalErrors).toEqual([]);
    expect(relays.map((r) => r.node.counters.internalErrors)).toEqual([0, 0, 0]);
  });
});

/** A client's events, and its log lines with their error codes. */
type Log = { [K in keyof ChatEvents]: ChatEvents[K][] } & { lines: { message: string; code?: string }[] };

/** The chat client's own state, reached past its privates: the hostile peer's handle on its session. */
interface ChatClientInternals { contactsByAddress: Map<string, { session: ChatSession | null }> }
const sessionWith = (chat: ChatClient, peer: string) => (chat as unknown as ChatClientInternals).contactsByAddress.get(peer)?.session ?? null;

describe('chat clients under hostile input', () => {
  const provider = loadCryptoProvider();
  let net: TestNetwork;
  let dir: string;
  const logs = new Map<ChatClient, Log>();
  let alice: ChatClient, bob: ChatClient, carol: ChatClient;
  const client = (name: string): ChatClient => {
    const kinds = ['progress', 'ready', 'request', 'message', 'sent', 'delivered', 'failed', 'contact', 'status', 'error'] as const;
    const events = { lines: [], ...Object.fromEntries(kinds.map((k) => [k, []])) } as unknown as Log;
    const log = (_level: string, message: string, fields?: Record<string, unknown>) => events.lines.push({ message, code: fields?.code as string | undefined });
    const chat = new ChatClient({ profileDir: join(dir, name), network: net.network, name, provider, timings: { requestTimeoutMs: 5_000, rendezvousTimeoutMs: 5_000 }, log });
    for (const k of kinds) chat.on(k, (p) => (events[k] as unknown[]).push(p));
    logs.set(chat, events);
    return chat;
  };
  const logOf = (chat: ChatClient) => logs.get(chat)!;
  /** From now on, `await next(n)` waits for the next n log lines of `chat` mentioning `message` and gives their codes. */
  const newCodes = (chat: ChatClient, message: string) => {
    const codes = () => logOf(chat).lines.filter((l) => l.message.includes(message)).map((l) => l.code);
    let seen = codes().length;
    return async (n: number) => (await waitFor(`${n} more "${message}"`, () => codes().length >= seen + n), codes().slice(seen, (seen += n)));
  };
  const online = (chat: ChatClient, peer: ChatClient) => chat.contacts().find((c) => c.address === peer.address)?.online ?? false;
  /** `from` adds `to`, `to` accepts: both see the contact online. */
  async function befriend(from: ChatClient, to: ChatClient): Promise<void> {
    from.addContact(to.address);
    await waitFor('the request', () => logOf(to).request.some((r) => r.from === from.address), 15_000);
    to.accept(from.address);
    await waitFor('both online', () => online(from, to) && online(to, from), 15_000);
  }
  /** `from` sends `text`: delivered (acknowledged), received once. */
  async function delivers(from: ChatClient, to: ChatClient, text: string): Promise<void> {
    const { id } = from.send(to.address, text);
    await waitFor(`"${text}" delivered`, () => logOf(from).delivered.some((d) => d.id === id), 15_000);
    expect(logOf(to).message.filter((m) => m.from === from.address && m.text === text)).toHaveLength(1);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'chive-chat-hostile-clients-'));
    net = await createTestNetwork({ relays: 5, provider });
    await net.ready();
    [alice, bob, carol] = [client('alice'), client('bob'), client('carol')];
    await Promise.all([alice.start(), bob.start(), carol.start()]);
  }, 60_000);

  afterAll(async () => {
    for (const c of logs.keys()) await c.close().catch(() => undefined);
    await net?.close();
  });

  it('drops garbage, replayed, stale and misdirected INTRODUCE2, keeps its intro circuits, and still accepts a contact', async () => {
    // What any sender can learn: bob's descriptor, from an HSDir that holds it; then a circuit to its first intro point.
    const [period, bobId] = [timePeriod(Date.now()), decodeChatAddress(provider, bob.address)];
    const blinded = blindedPublicKey(provider, bobId, period);
    const stored = await waitFor('bob\'s descriptor', () => net.relays.map((r) => r.relay.node.chat.hsdir.fetch(blinded, period, Date.now())).find(Boolean));
    const descriptor = openChatDescriptor(provider, stored, { identityPub: bobId, currentPeriod: period });
    const point = descriptor.introPoints[0]!;
    const ip = net.relays.find((r) => provider.equal(r.relay.keys.identity, point.relayIdentity))!;
    const guard = net.relays.find((r) => r !== ip)!;
    const c = await rawCircuit(await RawLink.open(provider, guard.relay.info), [guard.relay.info, ip.relay.info]);
    const introduce = (body: Uint8Array) => introduceAck(c, 1, body);
    const introCircuits = () => bob.circuits().filter((v) => v.purpose === 'intro');
    const introBefore = introCircuits();
    expect(introBefore.length).toBe(bob.status().introPoints.wanted);
    const refusals = newCodes(bob, 'introduction refused');
    const mallorySeed = testRng(32);
    const mallory = encodeChatAddress(provider, provider.ed25519PublicKey(mallorySeed));
    const seal = (overrides: { timestamp?: number; receiverIdentityPub?: Uint8Array } = {}) => sealIntroduction(provider, testRng, {
      introEncKey: descriptor.introEncKey, authKey: point.authKey, receiverIdentityPub: bobId, senderIdentitySeed: mallorySeed,
      cookie: testRng(CHAT_COOKIE_LEN), rendezvousIdentity: guard.relay.keys.identity, clientPublic: e2eSenderStart(provider, testRng).clientPublic,
      timestamp: Date.now(), ...overrides,
    });
    // Garbage under bob's auth key: the intro point relays it (it cannot tell), bob refuses it.
    expect(await introduce(noiseIntroduction(point.authKey))).toBe(IntroduceAckStatus.OK);
    expect(await refusals(1)).toEqual(['BAD_INTRODUCTION']);
    // A genuine introduction from a stranger becomes a request; the same bytes again are a replay.
    const genuine = seal();
    expect(await introduce(genuine)).toBe(IntroduceAckStatus.OK);
    await waitFor('mallory\'s request', () => logOf(bob).request.some((r) => r.from === mallory));
    expect(await introduce(genuine)).toBe(IntroduceAckStatus.OK);
    expect(await refusals(1)).toEqual(['INTRO_REPLAY']);
    // Stale (past the skew) and misdirected (signed for another receiver) introductions.
    expect(await introduce(seal({ timestamp: Date.now() - CHAT_INTRODUCE_MAX_SKEW_MS - 60_000 }))).toBe(IntroduceAckStatus.OK);
    expect(await introduce(seal({ receiverIdentityPub: decodeChatAddress(provider, alice.address) }))).toBe(IntroduceAckStatus.OK);
    expect(await refusals(2)).toEqual(['BAD_INTRODUCTION', 'BAD_INTRODUCTION']);
    expect(logOf(bob).request.filter((r) => r.from === mallory)).toHaveLength(1);
    expect(bob.contacts().find((x) => x.address === mallory)?.state).toBe('request');
    expect(c.events.filter((e) => e.kind === 'destroy')).toEqual([]);
    // The same introduction circuits, all up; and a legitimate contact still gets through.
    expect(introCircuits()).toEqual(introBefore);
    expect(bob.status().introPoints.up).toBe(bob.status().introPoints.wanted);
    c.raw.link.close();
    await befriend(alice, bob);
    await delivers(alice, bob, 'hello bob, after the noise');
    await delivers(bob, alice, 'hello alice');
  }, 60_000);

  it('closes the session of a peer sending malformed CHAT frames; other contacts\' sessions keep working', async () => {
    if (!online(bob, alice)) await befriend(alice, bob);
    const aliceSession = sessionWith(bob, alice.address)!;
    await befriend(carol, bob);
    await delivers(carol, bob, 'hi bob, carol here');
    const refusals = newCodes(bob, 'bad frame');
    const hostile: [string, Uint8Array][] = [['an unknown frame type', Uint8Array.of(0xee, 1, 2, 3)], ['an ACK for a message never sent', encodeChatFrame({ kind: 'ACK', seq: 1000 })]];
    for (const [i, [what, frame]] of hostile.entries()) {
      if (i > 0) await delivers(carol, bob, `carol again (${i})`); // carol reconnects to send it
      const [atCarol, atBob] = [sessionWith(carol, bob.address)!, sessionWith(bob, carol.address)!];
      atCarol.send(frame);
      atCarol.circuit.flush();
      await waitFor(`bob closes carol's session (${what})`, () => !atBob.open && !atCarol.open);
      expect(await refusals(1), what).toEqual(['BAD_CHAT_FRAME']);
      expect(isChiveError(atCarol.circuit.closeError, 'CIRCUIT_DESTROYED'), what).toBe(true);
      // Alice's session with bob is the same one, open, and carries messages both ways.
      await delivers(alice, bob, `alice still here (${what})`);
      await delivers(bob, alice, `bob still here (${what})`);
      expect(aliceSession.open && sessionWith(bob, alice.address) === aliceSession, what).toBe(true);
    }
    expect(bob.contacts().find((x) => x.address === carol.address)).toMatchObject({ state: 'accepted', online: false });
  }, 60_000);
});

/**
 * The end-to-end handshake (src/chat/e2e-handshake.ts) through both providers: reference
 * vectors, agreement, every refusal of a bad reply or wrong key, low-order points, a
 * single-use state, zeroed ephemeral secrets, and that the keys work as the virtual last
 * hop of a rendezvous circuit (ClientLayers on one side, RelayLayer on the other).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { fromHex, toHex, utf8 } from '../../src/bytes.js';
import {
  e2eReceiverRespond, e2eSenderFinish, e2eSenderStart, type E2eKeys,
} from '../../src/chat/e2e-handshake.js';
import { decodeRendezvous1, decodeRendezvous2, encodeRendezvous1, encodeRendezvous2 } from '../../src/chat/intro-messages.js';
import { ClientLayers } from '../../src/onion/client-layers.js';
import { RelayLayer } from '../../src/onion/relay-layer.js';
import type { HopKeys } from '../../src/onion/hop-keys.js';
import { decodeRelayMessageInCell, encodeRelayMessage, maxRelayDataLen } from '../../src/wire/relay-message.js';
import { CHAT_E2E_REPLY_LEN } from '../../src/wire/constants.js';
import { codeOf } from '../support/errors.js';
import { LOW_ORDER_POINTS } from '../support/low-order-points.js';

const vectors = JSON.parse(readFileSync(new URL('../vectors/chat-handshake/chat-handshake.json', import.meta.url), 'utf8'));
const e2eVectors = vectors.e2e as any[];

const hopHex = (k: HopKeys) => ({ kf: toHex(k.forward), ko: toHex(k.backwardOriginate), kr: toHex(k.backwardRelay) });
const keysHex = (k: E2eKeys) => ({ senderToReceiver: hopHex(k.senderToReceiver), receiverToSender: hopHex(k.receiverToSender) });

function parties(p: CryptoProvider) {
  const introEncSecret = p.randomBytes(32);
  return {
    introEncSecret,
    introEncPub: p.x25519PublicKey(introEncSecret),
    senderIdentityPub: p.ed25519PublicKey(p.randomBytes(32)),
    receiverIdentityPub: p.ed25519PublicKey(p.randomBytes(32)),
  };
}

/** A full handshake; returns both sides' keys and the reply. */
function handshake(p: CryptoProvider) {
  const k = parties(p);
  const { state, clientPublic } = e2eSenderStart(p, p.randomBytes);
  const { reply, keys: receiverKeys } = e2eReceiverRespond(p, p.randomBytes, { clientPublic, ...k });
  const senderKeys = e2eSenderFinish(p, state, reply, k);
  return { k, clientPublic, reply, senderKeys, receiverKeys };
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('the e2e handshake with the %s provider', (_name, p) => {
  it.each(e2eVectors.map((v, i) => [i, v] as const))('reproduces reference vector %i', (_i, v) => {
    const x = fromHex(v.clientSecret);
    const y = fromHex(v.serverSecret);
    const { state, clientPublic } = e2eSenderStart(p, () => x);
    expect(toHex(clientPublic)).toBe(v.clientPublic);
    const input = {
      introEncPub: fromHex(v.introEncPub), senderIdentityPub: fromHex(v.senderIdentityPub),
      receiverIdentityPub: fromHex(v.receiverIdentityPub),
    };
    const { reply, keys } = e2eReceiverRespond(p, () => y, { ...input, clientPublic, introEncSecret: fromHex(v.introEncSecret) });
    expect(toHex(reply)).toBe(v.reply);
    expect(keysHex(keys)).toEqual({ senderToReceiver: v.senderToReceiver, receiverToSender: v.receiverToSender });
    const senderKeys = e2eSenderFinish(p, state, reply, input);
    expect(keysHex(senderKeys)).toEqual({ senderToReceiver: v.senderToReceiver, receiverToSender: v.receiverToSender });
    expect(x.every((b) => b === 0)).toBe(true);
    expect(y.every((b) => b === 0)).toBe(true);
  });

  it('sender and receiver derive identical keys; the two directions and every key differ', () => {
    const { reply, senderKeys, receiverKeys } = handshake(p);
    expect(reply.length).toBe(CHAT_E2E_REPLY_LEN);
    expect(keysHex(senderKeys)).toEqual(keysHex(receiverKeys));
    const all = Object.values(keysHex(senderKeys)).flatMap((h) => Object.values(h));
    expect(new Set(all).size).toBe(6);
  });

  it('the reply survives RENDEZVOUS1 → RENDEZVOUS2', () => {
    const k = parties(p);
    const cookie = p.randomBytes(20);
    const { state, clientPublic } = e2eSenderStart(p, p.randomBytes);
    const { reply, keys } = e2eReceiverRespond(p, p.randomBytes, { clientPublic, ...k });
    const atRp = decodeRendezvous1(encodeRendezvous1(cookie, reply));
    expect(toHex(atRp.cookie)).toBe(toHex(cookie));
    const delivered = decodeRendezvous2(encodeRendezvous2(atRp.reply));
    expect(keysHex(e2eSenderFinish(p, state, delivered, k))).toEqual(keysHex(keys));
  });

  it('refuses a flipped bit in any byte of the reply', () => {
    const k = parties(p);
    for (let i = 0; i < CHAT_E2E_REPLY_LEN; i++) {
      const { state, clientPublic } = e2eSenderStart(p, p.randomBytes);
      const { reply } = e2eReceiverRespond(p, p.randomBytes, { clientPublic, ...k });
      reply[i]! ^= 1 << (i % 8);
      expect(['E2E_AUTH_FAILED', 'LOW_ORDER_POINT'], `byte ${i}`).toContain(codeOf(() => e2eSenderFinish(p, state, reply, k)));
      expect(state.finished).toBe(true);
    }
  });

  it('refuses a reply of the wrong length (E2E_AUTH_FAILED)', () => {
    const k = parties(p);
    for (const n of [0, 63, 65]) {
      const { state } = e2eSenderStart(p, p.randomBytes);
      expect(codeOf(() => e2eSenderFinish(p, state, new Uint8Array(n), k))).toBe('E2E_AUTH_FAILED');
    }
  });

  it('refuses when either side has the wrong identity or intro key', () => {
    const k = parties(p);
    const other = parties(p);
    const wrongs = [
      { sender: { senderIdentityPub: other.senderIdentityPub } },
      { sender: { receiverIdentityPub: other.receiverIdentityPub } },
      { sender: { introEncPub: other.introEncPub } },
      { receiver: { senderIdentityPub: other.senderIdentityPub } },
      { receiver: { receiverIdentityPub: other.receiverIdentityPub } },
      // the receiver answers with another intro key pair (not the one in the descriptor)
      { receiver: { introEncSecret: other.introEncSecret, introEncPub: other.introEncPub } },
      // the receiver's identities swapped: the handshake is bound to who is who
      { receiver: { senderIdentityPub: k.receiverIdentityPub, receiverIdentityPub: k.senderIdentityPub } },
    ];
    for (const wrong of wrongs) {
      const { state, clientPublic } = e2eSenderStart(p, p.randomBytes);
      const { reply } = e2eReceiverRespond(p, p.randomBytes, { ...k, ...wrong.receiver, clientPublic });
      expect(codeOf(() => e2eSenderFinish(p, state, reply, { ...k, ...wrong.sender })), JSON.stringify(Object.keys(wrong))).toBe('E2E_AUTH_FAILED');
    }
  });

  it.each(LOW_ORDER_POINTS)('the receiver refuses a low-order X = %s', (point) => {
    const k = parties(p);
    const y = p.randomBytes(32);
    expect(codeOf(() => e2eReceiverRespond(p, () => y, { ...k, clientPublic: fromHex(point) }))).toBe('LOW_ORDER_POINT');
    expect(y.every((b) => b === 0)).toBe(true);
  });

  it.each(LOW_ORDER_POINTS)('the sender refuses a low-order Y = %s', (point) => {
    const k = parties(p);
    const x = p.randomBytes(32);
    const { state } = e2eSenderStart(p, () => x);
    const reply = new Uint8Array(64);
    reply.set(fromHex(point));
    expect(['LOW_ORDER_POINT', 'E2E_AUTH_FAILED']).toContain(codeOf(() => e2eSenderFinish(p, state, reply, k)));
    expect(x.every((b) => b === 0)).toBe(true);
  });

  it('the sender refuses a low-order introEncPub', () => {
    const k = parties(p);
    const { state, clientPublic } = e2eSenderStart(p, p.randomBytes);
    const { reply } = e2eReceiverRespond(p, p.randomBytes, { ...k, clientPublic });
    expect(codeOf(() => e2eSenderFinish(p, state, reply, { ...k, introEncPub: fromHex(LOW_ORDER_POINTS[2]!) }))).toBe('LOW_ORDER_POINT');
  });

  it('the sender state is single-use, even after a failure', () => {
    const { k, reply } = handshake(p);
    const fresh = e2eSenderStart(p, p.randomBytes);
    expect(codeOf(() => e2eSenderFinish(p, fresh.state, reply, k))).toBe('E2E_AUTH_FAILED');
    expect(codeOf(() => e2eSenderFinish(p, fresh.state, reply, k))).toBe('HANDSHAKE_STATE');
    const again = e2eSenderStart(p, p.randomBytes);
    const r = e2eReceiverRespond(p, p.randomBytes, { ...k, clientPublic: again.clientPublic });
    e2eSenderFinish(p, again.state, r.reply, k);
    expect(codeOf(() => e2eSenderFinish(p, again.state, r.reply, k))).toBe('HANDSHAKE_STATE');
    expect(codeOf(() => e2eSenderFinish(p, { finished: false }, r.reply, k))).toBe('INVALID_ARGUMENT');
  });

  it('refuses bad local arguments (INVALID_ARGUMENT)', () => {
    const k = parties(p);
    const { clientPublic } = e2eSenderStart(p, p.randomBytes);
    expect(codeOf(() => e2eSenderStart(p, () => new Uint8Array(31)))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => e2eReceiverRespond(p, p.randomBytes, { ...k, clientPublic, introEncPub: parties(p).introEncPub }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => e2eReceiverRespond(p, p.randomBytes, { ...k, clientPublic: new Uint8Array(31) }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => e2eReceiverRespond(p, p.randomBytes, { ...k, clientPublic, senderIdentityPub: new Uint8Array(33) }))).toBe('INVALID_ARGUMENT');
  });

  describe('the keys work as the virtual last hop', () => {
    const chatMessage = (text: string) => encodeRelayMessage({ kind: 'CHAT', body: utf8(text) }, maxRelayDataLen(4));

    /** `from` builds cells with `outgoing` as the last of `realHops` + 1 hops; `to` checks them with `incoming`. */
    function deliver(outgoing: HopKeys, incoming: HopKeys, realHops: number, text: string): string {
      const layers = new ClientLayers(p);
      const real: RelayLayer[] = [];
      for (let i = 0; i < realHops; i++) {
        const hop = { forward: p.randomBytes(32), backwardOriginate: p.randomBytes(32), backwardRelay: p.randomBytes(32) };
        layers.addHop(hop);
        real.push(new RelayLayer(p, hop));
      }
      layers.addHop(outgoing);
      const peer = new RelayLayer(p, incoming);
      const cell = layers.encryptForward(realHops, chatMessage(text), p.randomBytes);
      for (const hop of real) expect(hop.processForward(cell).recognized).toBe(false);
      const out = peer.processForward(cell);
      if (!out.recognized) throw new Error('the peer did not recognise the cell');
      const msg = decodeRelayMessageInCell(out.body);
      if (msg.kind !== 'CHAT') throw new Error(`expected CHAT, got ${msg.kind}`);
      return new TextDecoder().decode(msg.body);
    }

    it('one hop: S → R with senderToReceiver, R → S with receiverToSender', () => {
      const { senderKeys, receiverKeys } = handshake(p);
      expect(deliver(senderKeys.senderToReceiver, receiverKeys.senderToReceiver, 0, 'hello R')).toBe('hello R');
      expect(deliver(receiverKeys.receiverToSender, senderKeys.receiverToSender, 0, 'hello S')).toBe('hello S');
    });

    it('as hop 4 behind three real hops, several cells in a row', () => {
      const { senderKeys, receiverKeys } = handshake(p);
      const layers = new ClientLayers(p);
      const real: RelayLayer[] = [];
      for (let i = 0; i < 3; i++) {
        const hop = { forward: p.randomBytes(32), backwardOriginate: p.randomBytes(32), backwardRelay: p.randomBytes(32) };
        layers.addHop(hop);
        real.push(new RelayLayer(p, hop));
      }
      layers.addHop(senderKeys.senderToReceiver);
      const peer = new RelayLayer(p, receiverKeys.senderToReceiver);
      for (const text of ['one', 'two', 'three']) {
        const cell = layers.encryptForward(3, chatMessage(text), p.randomBytes);
        for (const hop of real) expect(hop.processForward(cell).recognized).toBe(false);
        const out = peer.processForward(cell);
        expect(out.recognized).toBe(true);
        if (out.recognized) {
          const msg = decodeRelayMessageInCell(out.body);
          expect(msg.kind === 'CHAT' && new TextDecoder().decode(msg.body)).toBe(text);
        }
      }
      expect(peer.forwardCount).toBe(3);
    });

    it('the wrong direction\'s keys, or another handshake\'s, refuse the cell', () => {
      const a = handshake(p);
      const b = handshake(p);
      expect(() => deliver(a.senderKeys.senderToReceiver, a.receiverKeys.receiverToSender, 0, 'x'))
        .toThrow(expect.objectContaining({ code: 'CIRCUIT_TAG_MISMATCH' }));
      expect(() => deliver(a.senderKeys.senderToReceiver, b.receiverKeys.senderToReceiver, 0, 'x'))
        .toThrow(expect.objectContaining({ code: 'CIRCUIT_TAG_MISMATCH' }));
    });
  });
});

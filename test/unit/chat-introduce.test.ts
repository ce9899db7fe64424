/**
 * The encrypted introduction (src/chat/introduce.ts) through both providers: the reference
 * vectors byte for byte, round trips, and every refusal: a flipped byte anywhere, the wrong
 * receiver, intro key or intro point, a replay, a skewed or impossible timestamp, a
 * low-order E. Also that the ephemeral secret is zeroed and the replay cache is bounded.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { fromHex, toHex } from '../../src/bytes.js';
import {
  IntroReplayCache, openIntroduction, sealIntroduction, type SealIntroductionInput,
} from '../../src/chat/introduce.js';
import { parseIntroduce1 } from '../../src/chat/intro-messages.js';
import { CHAT_INTRODUCE_LEN, CHAT_INTRODUCE_MAX_SKEW_MS } from '../../src/wire/constants.js';
import { refSealIntroduction } from '../vectors/chat-handshake/reference.js';
import { codeOf } from '../support/errors.js';
import { LOW_ORDER_POINTS } from '../support/low-order-points.js';

const vectors = JSON.parse(readFileSync(new URL('../vectors/chat-handshake/chat-handshake.json', import.meta.url), 'utf8'));
const introduceVectors = vectors.introduce as (Record<string, string> & { timestamp: number })[];

const NOW = 1_700_000_000_000;

/** A receiver with an intro point, and a sender, with fresh keys. */
function setup(p: CryptoProvider) {
  const introEncSecret = p.randomBytes(32);
  const authSeed = p.randomBytes(32);
  const receiverSeed = p.randomBytes(32);
  const senderIdentitySeed = p.randomBytes(32);
  const input: SealIntroductionInput = {
    introEncKey: p.x25519PublicKey(introEncSecret),
    authKey: p.ed25519PublicKey(authSeed),
    receiverIdentityPub: p.ed25519PublicKey(receiverSeed),
    senderIdentitySeed,
    cookie: p.randomBytes(20),
    rendezvousIdentity: p.ed25519PublicKey(p.randomBytes(32)),
    clientPublic: p.x25519PublicKey(p.randomBytes(32)),
    timestamp: NOW,
  };
  const open = (body: Uint8Array, overrides: Partial<Parameters<typeof openIntroduction>[2]> = {}, replay = new IntroReplayCache()) =>
    openIntroduction(p, body, {
      introEncSecret, authKey: input.authKey, receiverIdentityPub: input.receiverIdentityPub, nowMs: NOW, replay, ...overrides,
    });
  return { introEncSecret, input, open, senderIdentityPub: p.ed25519PublicKey(senderIdentitySeed) };
}

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('the introduction with the %s provider', (_name, p) => {
  it('reproduces the reference vectors byte for byte and opens them', () => {
    for (const v of introduceVectors) {
      const body = sealIntroduction(p, () => fromHex(v.ephemeralSecret!), {
        introEncKey: fromHex(v.introEncKey!), authKey: fromHex(v.authKey!), receiverIdentityPub: fromHex(v.receiverIdentityPub!),
        senderIdentitySeed: fromHex(v.senderIdentitySeed!), cookie: fromHex(v.cookie!),
        rendezvousIdentity: fromHex(v.rendezvousIdentity!), clientPublic: fromHex(v.clientPublic!), timestamp: v.timestamp,
      });
      expect(toHex(body)).toBe(v.body);
      const plain = openIntroduction(p, fromHex(v.body!), {
        introEncSecret: fromHex(v.introEncSecret!), authKey: fromHex(v.authKey!), receiverIdentityPub: fromHex(v.receiverIdentityPub!),
        nowMs: v.timestamp, replay: new IntroReplayCache(),
      });
      expect(toHex(plain.cookie)).toBe(v.cookie);
      expect(toHex(plain.rendezvousIdentity)).toBe(v.rendezvousIdentity);
      expect(toHex(plain.clientPublic)).toBe(v.clientPublic);
      expect(toHex(plain.senderIdentityPub)).toBe(v.senderIdentityPub);
      expect(plain.timestamp).toBe(v.timestamp);
    }
  });

  it('round-trips, and the intro point reads only the auth key', () => {
    const { input, open, senderIdentityPub } = setup(p);
    const body = sealIntroduction(p, p.randomBytes, input);
    expect(body.length).toBe(CHAT_INTRODUCE_LEN);
    expect(toHex(parseIntroduce1(body).authKey)).toBe(toHex(input.authKey));
    const plain = open(body);
    expect(toHex(plain.cookie)).toBe(toHex(input.cookie));
    expect(toHex(plain.rendezvousIdentity)).toBe(toHex(input.rendezvousIdentity));
    expect(toHex(plain.clientPublic)).toBe(toHex(input.clientPublic));
    expect(toHex(plain.senderIdentityPub)).toBe(toHex(senderIdentityPub));
    expect(plain.timestamp).toBe(NOW);
  });

  it('two introductions of the same content differ (fresh E each time)', () => {
    const { input } = setup(p);
    const a = sealIntroduction(p, p.randomBytes, input);
    const b = sealIntroduction(p, p.randomBytes, input);
    expect(toHex(a)).not.toBe(toHex(b));
  });

  it('zeroes the ephemeral secret', () => {
    const { input } = setup(p);
    const e = p.randomBytes(32);
    sealIntroduction(p, () => e, input);
    expect(e.every((b) => b === 0)).toBe(true);
  });

  it('refuses a flipped bit in any byte, remembers none of them, then accepts the genuine one', () => {
    const { input, open } = setup(p);
    const body = sealIntroduction(p, p.randomBytes, input);
    const replay = new IntroReplayCache();
    for (let i = 0; i < body.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = body.slice();
        bad[i]! ^= bit;
        expect(codeOf(() => open(bad, {}, replay)), `byte ${i} bit ${bit}`).toBe('BAD_INTRODUCTION');
      }
    }
    expect(replay.size).toBe(0);
    expect(toHex(open(body, {}, replay).cookie)).toBe(toHex(input.cookie));
  });

  it('refuses wrong lengths as BAD_INTRODUCTION', () => {
    const { input, open } = setup(p);
    const body = sealIntroduction(p, p.randomBytes, input);
    expect(codeOf(() => open(body.subarray(0, body.length - 1)))).toBe('BAD_INTRODUCTION');
    expect(codeOf(() => open(new Uint8Array([...body, 0])))).toBe('BAD_INTRODUCTION');
    expect(codeOf(() => open(new Uint8Array(0)))).toBe('BAD_INTRODUCTION');
  });

  it('refuses the wrong receiver identity, intro key or auth key', () => {
    const { input, open } = setup(p);
    const body = sealIntroduction(p, p.randomBytes, input);
    expect(codeOf(() => open(body, { receiverIdentityPub: p.ed25519PublicKey(p.randomBytes(32)) }))).toBe('BAD_INTRODUCTION');
    expect(codeOf(() => open(body, { introEncSecret: p.randomBytes(32) }))).toBe('BAD_INTRODUCTION');
    expect(codeOf(() => open(body, { authKey: p.ed25519PublicKey(p.randomBytes(32)) }))).toBe('BAD_INTRODUCTION');
  });

  it('refuses an introduction signed for another receiver but sealed to this one (no redirection)', () => {
    const { input, open } = setup(p);
    const someoneElse = p.ed25519PublicKey(p.randomBytes(32));
    const body = sealIntroduction(p, p.randomBytes, { ...input, receiverIdentityPub: someoneElse });
    expect(codeOf(() => open(body))).toBe('BAD_INTRODUCTION');
    expect(() => open(body, { receiverIdentityPub: someoneElse })).not.toThrow();
  });

  it('refuses a replay (INTRO_REPLAY), also after the first has been forgotten by the clock', () => {
    const { input, open } = setup(p);
    const body = sealIntroduction(p, p.randomBytes, input);
    const replay = new IntroReplayCache({ maxEntries: 16 });
    open(body, {}, replay);
    expect(codeOf(() => open(body, {}, replay))).toBe('INTRO_REPLAY');
    expect(codeOf(() => open(body, { nowMs: NOW + CHAT_INTRODUCE_MAX_SKEW_MS }, replay))).toBe('INTRO_REPLAY');
    // Past the replay window the timestamp is too old, whatever the cache says.
    expect(codeOf(() => open(body, { nowMs: NOW + 2 * CHAT_INTRODUCE_MAX_SKEW_MS + 1 }, replay))).toBe('BAD_INTRODUCTION');
    // A second introduction with the same content but a fresh E is not a replay.
    expect(() => open(sealIntroduction(p, p.randomBytes, input), {}, replay)).not.toThrow();
  });

  it('the replay cache is bounded: the oldest entry is evicted first', () => {
    const { input, open } = setup(p);
    const replay = new IntroReplayCache({ maxEntries: 2 });
    const bodies = [0, 1, 2].map(() => sealIntroduction(p, p.randomBytes, input));
    for (const b of bodies) open(b, {}, replay);
    expect(replay.size).toBe(2);
    expect(codeOf(() => open(bodies[2]!, {}, replay))).toBe('INTRO_REPLAY');
    expect(codeOf(() => open(bodies[1]!, {}, replay))).toBe('INTRO_REPLAY');
    // The documented limit of a bounded cache: the evicted one is accepted again while fresh.
    expect(() => open(bodies[0]!, {}, replay)).not.toThrow();
    expect(codeOf(() => new IntroReplayCache({ maxEntries: 0 }))).toBe('INVALID_ARGUMENT');
  });

  it('accepts timestamps up to CHAT_INTRODUCE_MAX_SKEW_MS away and refuses beyond', () => {
    const { input, open } = setup(p);
    const body = sealIntroduction(p, p.randomBytes, input);
    expect(() => open(body, { nowMs: NOW - CHAT_INTRODUCE_MAX_SKEW_MS })).not.toThrow();
    expect(() => open(body, { nowMs: NOW + CHAT_INTRODUCE_MAX_SKEW_MS })).not.toThrow();
    expect(codeOf(() => open(body, { nowMs: NOW - CHAT_INTRODUCE_MAX_SKEW_MS - 1 }))).toBe('BAD_INTRODUCTION');
    expect(codeOf(() => open(body, { nowMs: NOW + CHAT_INTRODUCE_MAX_SKEW_MS + 1 }))).toBe('BAD_INTRODUCTION');
  });

  it('refuses a validly sealed and signed timestamp above 2^53 (made by the reference)', () => {
    const introEncSecret = p.randomBytes(32);
    const authSeed = p.randomBytes(32);
    const receiverIdentitySeed = p.randomBytes(32);
    const ref = refSealIntroduction({
      introEncSecret, authSeed, receiverIdentitySeed, senderIdentitySeed: p.randomBytes(32),
      cookie: p.randomBytes(20), rendezvousIdentity: p.randomBytes(32), clientPublic: p.randomBytes(32),
      timestamp: 2 ** 60, ephemeralSecret: p.randomBytes(32),
    });
    expect(() => openIntroduction(p, ref.body, {
      introEncSecret, authKey: ref.authKey, receiverIdentityPub: ref.receiverIdentityPub, nowMs: 2 ** 60,
      replay: new IntroReplayCache(),
    })).toThrow(expect.objectContaining({ code: 'BAD_INTRODUCTION' }));
  });

  it.each(LOW_ORDER_POINTS)('refuses a low-order E = %s', (point) => {
    const { input, open } = setup(p);
    const body = sealIntroduction(p, p.randomBytes, input);
    body.set(fromHex(point), 32);
    expect(codeOf(() => open(body))).toBe('BAD_INTRODUCTION');
  });

  it.each(LOW_ORDER_POINTS)('will not seal to a low-order introEncKey = %s', (point) => {
    const { input } = setup(p);
    expect(codeOf(() => sealIntroduction(p, p.randomBytes, { ...input, introEncKey: fromHex(point) }))).toBe('LOW_ORDER_POINT');
  });

  it('refuses bad local arguments (INVALID_ARGUMENT)', () => {
    const { input, open } = setup(p);
    const short = new Uint8Array(31);
    for (const field of ['introEncKey', 'authKey', 'receiverIdentityPub', 'senderIdentitySeed', 'rendezvousIdentity', 'clientPublic'] as const) {
      expect(codeOf(() => sealIntroduction(p, p.randomBytes, { ...input, [field]: short })), field).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => sealIntroduction(p, p.randomBytes, { ...input, cookie: new Uint8Array(21) }))).toBe('INVALID_ARGUMENT');
    for (const timestamp of [-1, 1.5, 2 ** 53, Number.NaN]) {
      expect(codeOf(() => sealIntroduction(p, p.randomBytes, { ...input, timestamp }))).toBe('INVALID_ARGUMENT');
    }
    expect(codeOf(() => sealIntroduction(p, () => new Uint8Array(16), input))).toBe('INVALID_ARGUMENT');
    const body = sealIntroduction(p, p.randomBytes, input);
    expect(codeOf(() => open(body, { nowMs: Number.NaN }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => open(body, { introEncSecret: short }))).toBe('INVALID_ARGUMENT');
  });
});

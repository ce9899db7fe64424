/**
 * Property tests of the chat introduction layer through both providers: every decoder and
 * checker, fed arbitrary bytes, only ever throws a typed ChiveError (and the codes it may
 * use); encoders round-trip for any valid input; and src/chat/ agrees with the literal
 * reference (test/vectors/chat-handshake/reference.ts) for arbitrary keys and fields.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { ChiveError, type ErrorCode } from '../../src/errors.js';
import { toHex } from '../../src/bytes.js';
import {
  checkEmptyBody, checkEstablishIntro, decodeEstablishRendezvous, decodeHsdirFetch, decodeHsdirFound,
  decodeHsdirStore, decodeHsdirStored, decodeIntroduceAck, decodeRendezvous1, decodeRendezvous2,
  encodeEstablishIntro, encodeEstablishRendezvous, encodeHsdirFetch, encodeHsdirFound, encodeHsdirStore,
  encodeRendezvous1, encodeRendezvous2, parseIntroduce1,
} from '../../src/chat/intro-messages.js';
import { IntroReplayCache, openIntroduction, sealIntroduction } from '../../src/chat/introduce.js';
import { e2eReceiverRespond, e2eSenderFinish, e2eSenderStart } from '../../src/chat/e2e-handshake.js';
import { CHAT_DESCRIPTOR_MAX_LEN, CHAT_INTRODUCE_LEN, HsdirFetchStatus } from '../../src/wire/constants.js';
import { refE2e, refEstablishIntro, refSealIntroduction } from '../vectors/chat-handshake/reference.js';

const DECODING: ErrorCode[] = ['TRUNCATED', 'TRAILING_BYTES', 'OVER_LENGTH', 'BAD_VALUE'];

/** The code `fn` threw (undefined if it returned); anything but a ChiveError fails the test. */
function codeOf(fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof ChiveError) return e.code;
    throw e;
  }
}

const bytesUpTo = (n: number) => fc.uint8Array({ minLength: 0, maxLength: n });
const bytesOf = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
/** Arbitrary bytes, biased towards lengths near each message's own. */
const anyBody = fc.oneof(
  bytesUpTo(600),
  ...[0, 1, 20, 36, 64, 84, 96, CHAT_INTRODUCE_LEN, CHAT_DESCRIPTOR_MAX_LEN + 1].map((n) => bytesOf(n)),
);

describe('chat message decoders on arbitrary bytes', () => {
  const decoders: [string, (b: Uint8Array) => unknown][] = [
    ['parseIntroduce1', parseIntroduce1],
    ['decodeIntroduceAck', decodeIntroduceAck],
    ['decodeEstablishRendezvous', decodeEstablishRendezvous],
    ['decodeRendezvous1', decodeRendezvous1],
    ['decodeRendezvous2', decodeRendezvous2],
    ['decodeHsdirStore', decodeHsdirStore],
    ['decodeHsdirStored', decodeHsdirStored],
    ['decodeHsdirFetch', decodeHsdirFetch],
    ['decodeHsdirFound', decodeHsdirFound],
    ['checkEmptyBody', (b) => checkEmptyBody(b, 'INTRO_ESTABLISHED')],
  ];
  it.each(decoders)('%s throws only decoding ChiveErrors', (_name, decode) => {
    fc.assert(fc.property(anyBody, (body) => {
      const code = codeOf(() => decode(body));
      if (code !== undefined) expect(DECODING).toContain(code);
    }), { numRuns: 500 });
  });

  it('encoders round-trip for any valid input', () => {
    fc.assert(fc.property(bytesOf(20), bytesOf(64), bytesOf(32), fc.nat({ max: 0xffff_ffff }),
      fc.uint8Array({ minLength: 1, maxLength: CHAT_DESCRIPTOR_MAX_LEN }), (cookie, reply, blinded, period, descriptor) => {
        expect(toHex(decodeEstablishRendezvous(encodeEstablishRendezvous(cookie)))).toBe(toHex(cookie));
        const r1 = decodeRendezvous1(encodeRendezvous1(cookie, reply));
        expect(toHex(r1.cookie) + toHex(r1.reply)).toBe(toHex(cookie) + toHex(reply));
        expect(toHex(decodeRendezvous2(encodeRendezvous2(reply)))).toBe(toHex(reply));
        const f = decodeHsdirFetch(encodeHsdirFetch(blinded, period));
        expect([toHex(f.blindedKey), f.period]).toEqual([toHex(blinded), period]);
        expect(toHex(decodeHsdirStore(encodeHsdirStore(descriptor)))).toBe(toHex(descriptor));
        expect(toHex(decodeHsdirFound(encodeHsdirFound(HsdirFetchStatus.FOUND, descriptor)).descriptor!)).toBe(toHex(descriptor));
      }), { numRuns: 200 });
  });
});

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('chat introduction properties with the %s provider', (_name, p) => {
  const ownIdentity = p.ed25519PublicKey(p.randomBytes(32));
  const introEncSecret = p.randomBytes(32);
  const authKey = p.ed25519PublicKey(p.randomBytes(32));
  const receiverIdentityPub = p.ed25519PublicKey(p.randomBytes(32));

  it('checkEstablishIntro on arbitrary bytes: decoding errors or BAD_INTRODUCTION, never acceptance', () => {
    fc.assert(fc.property(anyBody, (body) => {
      const code = codeOf(() => checkEstablishIntro(p, body, ownIdentity));
      expect([...DECODING, 'BAD_INTRODUCTION']).toContain(code);
    }), { numRuns: 300 });
  });

  it('openIntroduction on arbitrary bytes: BAD_INTRODUCTION, always', () => {
    const bodies = fc.oneof(
      anyBody,
      // the right auth key, so the DH and AEAD paths run
      bytesOf(CHAT_INTRODUCE_LEN - 32).map((rest) => new Uint8Array([...authKey, ...rest])),
    );
    fc.assert(fc.property(bodies, (body) => {
      const replay = new IntroReplayCache({ maxEntries: 4 });
      expect(codeOf(() => openIntroduction(p, body, { introEncSecret, authKey, receiverIdentityPub, nowMs: 0, replay }))).toBe('BAD_INTRODUCTION');
      expect(replay.size).toBe(0);
    }), { numRuns: 300 });
  });

  it('e2eSenderFinish on arbitrary replies: E2E_AUTH_FAILED or LOW_ORDER_POINT, always', () => {
    const introEncPub = p.x25519PublicKey(introEncSecret);
    fc.assert(fc.property(fc.oneof(bytesUpTo(200), bytesOf(64)), (reply) => {
      const { state } = e2eSenderStart(p, p.randomBytes);
      const code = codeOf(() => e2eSenderFinish(p, state, reply, { introEncPub, senderIdentityPub: ownIdentity, receiverIdentityPub }));
      expect(['E2E_AUTH_FAILED', 'LOW_ORDER_POINT']).toContain(code);
    }), { numRuns: 300 });
  });

  it('ESTABLISH_INTRO agrees with the reference for any keys', () => {
    fc.assert(fc.property(bytesOf(32), bytesOf(32), (authSeed, relayIdentity) => {
      const body = encodeEstablishIntro(p, authSeed, relayIdentity);
      expect(toHex(body)).toBe(toHex(refEstablishIntro(authSeed, relayIdentity).body));
      expect(toHex(checkEstablishIntro(p, body, relayIdentity).authKey)).toBe(toHex(body.subarray(0, 32)));
    }), { numRuns: 30 });
  });

  it('sealIntroduction agrees with the reference, and opens, for any keys and fields', () => {
    fc.assert(fc.property(
      fc.record({
        introEncSecret: bytesOf(32), authSeed: bytesOf(32), receiverIdentitySeed: bytesOf(32), senderIdentitySeed: bytesOf(32),
        cookie: bytesOf(20), rendezvousIdentity: bytesOf(32), clientPublic: bytesOf(32),
        timestamp: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), ephemeralSecret: bytesOf(32),
      }),
      (i) => {
        const ref = refSealIntroduction(i);
        const body = sealIntroduction(p, () => i.ephemeralSecret.slice(), {
          introEncKey: ref.introEncKey, authKey: ref.authKey, receiverIdentityPub: ref.receiverIdentityPub,
          senderIdentitySeed: i.senderIdentitySeed, cookie: i.cookie, rendezvousIdentity: i.rendezvousIdentity,
          clientPublic: i.clientPublic, timestamp: i.timestamp,
        });
        expect(toHex(body)).toBe(toHex(ref.body));
        const plain = openIntroduction(p, body, {
          introEncSecret: i.introEncSecret, authKey: ref.authKey, receiverIdentityPub: ref.receiverIdentityPub,
          nowMs: i.timestamp, replay: new IntroReplayCache({ maxEntries: 1 }),
        });
        expect(toHex(plain.senderIdentityPub)).toBe(toHex(ref.senderIdentityPub));
        expect(plain.timestamp).toBe(i.timestamp);
      },
    ), { numRuns: 30 });
  });

  it('the e2e handshake agrees with the reference for any keys', () => {
    fc.assert(fc.property(bytesOf(32), bytesOf(32), bytesOf(32), bytesOf(32), bytesOf(32), (sId, rId, b, x, y) => {
      const ref = refE2e({ senderIdentityPub: sId, receiverIdentityPub: rId, introEncSecret: b, clientSecret: x, serverSecret: y });
      const input = { introEncPub: ref.introEncPub, senderIdentityPub: sId, receiverIdentityPub: rId };
      const { state, clientPublic } = e2eSenderStart(p, () => x.slice());
      expect(toHex(clientPublic)).toBe(toHex(ref.clientPublic));
      const { reply, keys } = e2eReceiverRespond(p, () => y.slice(), { ...input, clientPublic, introEncSecret: b });
      expect(toHex(reply)).toBe(toHex(ref.reply));
      const sender = e2eSenderFinish(p, state, reply, input);
      for (const k of [keys, sender]) {
        expect(toHex(k.senderToReceiver.forward)).toBe(toHex(ref.senderToReceiver.kf));
        expect(toHex(k.senderToReceiver.backwardRelay)).toBe(toHex(ref.senderToReceiver.kr));
        expect(toHex(k.receiverToSender.forward)).toBe(toHex(ref.receiverToSender.kf));
        expect(toHex(k.receiverToSender.backwardOriginate)).toBe(toHex(ref.receiverToSender.ko));
      }
    }), { numRuns: 30 });
  });
});

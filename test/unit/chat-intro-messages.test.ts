/**
 * The chat message bodies of src/chat/intro-messages.ts: vectors (test/vectors/chat-handshake/,
 * from an independent reference), round trips, exact layouts, and every refusal by code.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { fromHex, toHex } from '../../src/bytes.js';
import {
  checkEmptyBody, checkEstablishIntro, decodeEstablishRendezvous, decodeHsdirFetch, decodeHsdirFound,
  decodeHsdirStore, decodeHsdirStored, decodeIntroduceAck, decodeRendezvous1, decodeRendezvous2,
  encodeEstablishIntro, encodeEstablishRendezvous, encodeHsdirFetch, encodeHsdirFound, encodeHsdirStore,
  encodeHsdirStored, encodeIntroduceAck, encodeRendezvous1, encodeRendezvous2, parseIntroduce1,
} from '../../src/chat/intro-messages.js';
import {
  CHAT_COOKIE_LEN, CHAT_DESCRIPTOR_MAX_LEN, CHAT_ESTABLISH_INTRO_LEN, CHAT_INTRODUCE_LEN, HsdirFetchStatus,
  HsdirStoreStatus, IntroduceAckStatus,
} from '../../src/wire/constants.js';
import { codeOf } from '../support/errors.js';

const vectors = JSON.parse(readFileSync(new URL('../vectors/chat-handshake/chat-handshake.json', import.meta.url), 'utf8'));
const m = vectors.messages as Record<string, any>;

const bytes = (n: number, fill = 7) => new Uint8Array(n).fill(fill);

describe.each(allCryptoProviders().map((p) => [p.name, p] as const))('ESTABLISH_INTRO with the %s provider', (_name, p) => {
  it('matches the reference vectors byte for byte, and checks', () => {
    for (const v of vectors.establishIntro as Record<string, string>[]) {
      const body = encodeEstablishIntro(p, fromHex(v.authSeed!), fromHex(v.introRelayIdentity!));
      expect(toHex(body)).toBe(v.body);
      expect(body.length).toBe(CHAT_ESTABLISH_INTRO_LEN);
      const { authKey } = checkEstablishIntro(p, body, fromHex(v.introRelayIdentity!));
      expect(toHex(authKey)).toBe(v.authKey);
    }
  });

  it('refuses a signature made for another intro point', () => {
    const v = vectors.establishIntro[0];
    const other = vectors.establishIntro[1].introRelayIdentity;
    expect(codeOf(() => checkEstablishIntro(p, fromHex(v.body), fromHex(other)))).toBe('BAD_INTRODUCTION');
  });

  it('refuses any flipped byte', () => {
    const v = vectors.establishIntro[0];
    const body = fromHex(v.body);
    for (let i = 0; i < body.length; i++) {
      const bad = body.slice();
      bad[i]! ^= 0x01;
      expect(codeOf(() => checkEstablishIntro(p, bad, fromHex(v.introRelayIdentity)))).toBe('BAD_INTRODUCTION');
    }
  });

  it('refuses wrong lengths with byte-level codes', () => {
    const v = vectors.establishIntro[0];
    const body = fromHex(v.body);
    const id = fromHex(v.introRelayIdentity);
    expect(codeOf(() => checkEstablishIntro(p, body.subarray(0, 95), id))).toBe('TRUNCATED');
    expect(codeOf(() => checkEstablishIntro(p, new Uint8Array([...body, 0]), id))).toBe('OVER_LENGTH');
    expect(codeOf(() => checkEstablishIntro(p, new Uint8Array(0), id))).toBe('TRUNCATED');
    expect(codeOf(() => encodeEstablishIntro(p, bytes(31), id))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => checkEstablishIntro(p, body, bytes(31)))).toBe('INVALID_ARGUMENT');
  });
});

describe('INTRODUCE1 routing part', () => {
  it('returns a copy of the auth key of an exact-length body', () => {
    const body = new Uint8Array(CHAT_INTRODUCE_LEN).map((_, i) => i & 0xff);
    const { authKey } = parseIntroduce1(body);
    expect(toHex(authKey)).toBe(toHex(body.subarray(0, 32)));
    body[0] = 0xee;
    expect(authKey[0]).toBe(0); // a copy, not a view
  });

  it('refuses any other length', () => {
    expect(codeOf(() => parseIntroduce1(new Uint8Array(CHAT_INTRODUCE_LEN - 1)))).toBe('TRUNCATED');
    expect(codeOf(() => parseIntroduce1(new Uint8Array(CHAT_INTRODUCE_LEN + 1)))).toBe('OVER_LENGTH');
    expect(codeOf(() => parseIntroduce1(new Uint8Array(0)))).toBe('TRUNCATED');
    expect(codeOf(() => parseIntroduce1(new Uint8Array(31)))).toBe('TRUNCATED');
  });
});

describe('status messages', () => {
  it('INTRODUCE_ACK: every status round-trips as one byte; unknown ones are refused', () => {
    expect(toHex(encodeIntroduceAck(IntroduceAckStatus.OK))).toBe(m.introduceAck.ok);
    expect(toHex(encodeIntroduceAck(IntroduceAckStatus.NO_SUCH_INTRO))).toBe(m.introduceAck.noSuchIntro);
    expect(toHex(encodeIntroduceAck(IntroduceAckStatus.MALFORMED))).toBe(m.introduceAck.malformed);
    for (const s of Object.values(IntroduceAckStatus)) expect(decodeIntroduceAck(encodeIntroduceAck(s))).toBe(s);
    expect(codeOf(() => decodeIntroduceAck(Uint8Array.of(3)))).toBe('BAD_VALUE');
    expect(codeOf(() => decodeIntroduceAck(new Uint8Array(0)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeIntroduceAck(Uint8Array.of(0, 0)))).toBe('OVER_LENGTH');
    expect(codeOf(() => encodeIntroduceAck(9))).toBe('INVALID_ARGUMENT');
  });

  it('HSDIR_STORED: every status round-trips as one byte; unknown ones are refused', () => {
    expect(toHex(encodeHsdirStored(HsdirStoreStatus.STORED))).toBe(m.hsdirStored.stored);
    expect(toHex(encodeHsdirStored(HsdirStoreStatus.REJECTED))).toBe(m.hsdirStored.rejected);
    expect(toHex(encodeHsdirStored(HsdirStoreStatus.STALE_REVISION))).toBe(m.hsdirStored.staleRevision);
    expect(toHex(encodeHsdirStored(HsdirStoreStatus.OVER_QUOTA))).toBe(m.hsdirStored.overQuota);
    for (const s of Object.values(HsdirStoreStatus)) expect(decodeHsdirStored(encodeHsdirStored(s))).toBe(s);
    expect(codeOf(() => decodeHsdirStored(Uint8Array.of(4)))).toBe('BAD_VALUE');
    expect(codeOf(() => decodeHsdirStored(Uint8Array.of(0, 1)))).toBe('OVER_LENGTH');
    expect(codeOf(() => encodeHsdirStored(-1))).toBe('INVALID_ARGUMENT');
  });

  it('empty bodies: accepted empty, refused otherwise', () => {
    expect(() => checkEmptyBody(new Uint8Array(0), 'INTRO_ESTABLISHED')).not.toThrow();
    expect(codeOf(() => checkEmptyBody(Uint8Array.of(0), 'RENDEZVOUS_ESTABLISHED'))).toBe('TRAILING_BYTES');
    expect(() => checkEmptyBody(Uint8Array.of(0), 'RENDEZVOUS_ESTABLISHED')).toThrow(/RENDEZVOUS_ESTABLISHED/);
  });
});

describe('rendezvous messages', () => {
  const cookie = fromHex(m.cookie);
  const reply = fromHex(m.reply);

  it('match the spelled-out layouts and round-trip', () => {
    expect(toHex(encodeEstablishRendezvous(cookie))).toBe(m.establishRendezvous);
    expect(toHex(decodeEstablishRendezvous(fromHex(m.establishRendezvous)))).toBe(m.cookie);
    expect(toHex(encodeRendezvous1(cookie, reply))).toBe(m.rendezvous1);
    const r1 = decodeRendezvous1(fromHex(m.rendezvous1));
    expect(toHex(r1.cookie)).toBe(m.cookie);
    expect(toHex(r1.reply)).toBe(m.reply);
    expect(toHex(encodeRendezvous2(reply))).toBe(m.rendezvous2);
    expect(toHex(decodeRendezvous2(fromHex(m.rendezvous2)))).toBe(m.reply);
  });

  it('refuse wrong lengths', () => {
    expect(codeOf(() => decodeEstablishRendezvous(cookie.subarray(1)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeEstablishRendezvous(new Uint8Array(CHAT_COOKIE_LEN + 1)))).toBe('OVER_LENGTH');
    expect(codeOf(() => decodeRendezvous1(new Uint8Array(83)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeRendezvous1(new Uint8Array(85)))).toBe('OVER_LENGTH');
    expect(codeOf(() => decodeRendezvous2(new Uint8Array(63)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeRendezvous2(new Uint8Array(65)))).toBe('OVER_LENGTH');
    expect(codeOf(() => encodeEstablishRendezvous(bytes(19)))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeRendezvous1(cookie, bytes(63)))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeRendezvous1(bytes(21), reply))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeRendezvous2(bytes(65)))).toBe('INVALID_ARGUMENT');
  });

  it('decoded fields are copies', () => {
    const body = fromHex(m.rendezvous1);
    const { cookie: c } = decodeRendezvous1(body);
    body.fill(0);
    expect(toHex(c)).toBe(m.cookie);
  });
});

describe('HSDir messages', () => {
  const blindedKey = fromHex(m.blindedKey);
  const descriptor = fromHex(m.descriptor);

  it('HSDIR_FETCH matches the layout and round-trips', () => {
    expect(toHex(encodeHsdirFetch(blindedKey, m.period))).toBe(m.hsdirFetch);
    const f = decodeHsdirFetch(fromHex(m.hsdirFetch));
    expect(toHex(f.blindedKey)).toBe(m.blindedKey);
    expect(f.period).toBe(m.period);
    const max = decodeHsdirFetch(encodeHsdirFetch(blindedKey, 0xffff_ffff));
    expect(max.period).toBe(0xffff_ffff);
    expect(codeOf(() => decodeHsdirFetch(new Uint8Array(35)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeHsdirFetch(new Uint8Array(37)))).toBe('OVER_LENGTH');
    expect(codeOf(() => encodeHsdirFetch(blindedKey, 2 ** 32))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeHsdirFetch(bytes(31), 1))).toBe('INVALID_ARGUMENT');
  });

  it('HSDIR_FOUND carries a descriptor exactly when FOUND', () => {
    expect(toHex(encodeHsdirFound(HsdirFetchStatus.FOUND, descriptor))).toBe(m.hsdirFoundFound);
    expect(toHex(encodeHsdirFound(HsdirFetchStatus.NOT_FOUND))).toBe(m.hsdirFoundNotFound);
    const found = decodeHsdirFound(fromHex(m.hsdirFoundFound));
    expect(found.status).toBe(HsdirFetchStatus.FOUND);
    expect(toHex(found.descriptor!)).toBe(m.descriptor);
    expect(decodeHsdirFound(fromHex(m.hsdirFoundNotFound))).toEqual({ status: HsdirFetchStatus.NOT_FOUND });
    expect(codeOf(() => decodeHsdirFound(Uint8Array.of(0)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeHsdirFound(Uint8Array.of(1, 0)))).toBe('TRAILING_BYTES');
    expect(codeOf(() => decodeHsdirFound(Uint8Array.of(2)))).toBe('BAD_VALUE');
    expect(codeOf(() => decodeHsdirFound(new Uint8Array(0)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeHsdirFound(new Uint8Array(2 + CHAT_DESCRIPTOR_MAX_LEN)))).toBe('OVER_LENGTH');
    const biggest = new Uint8Array(CHAT_DESCRIPTOR_MAX_LEN).fill(9);
    expect(decodeHsdirFound(encodeHsdirFound(HsdirFetchStatus.FOUND, biggest)).descriptor!.length).toBe(CHAT_DESCRIPTOR_MAX_LEN);
    expect(codeOf(() => encodeHsdirFound(HsdirFetchStatus.FOUND))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeHsdirFound(HsdirFetchStatus.NOT_FOUND, descriptor))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => encodeHsdirFound(HsdirFetchStatus.FOUND, new Uint8Array(CHAT_DESCRIPTOR_MAX_LEN + 1)))).toBe('INVALID_ARGUMENT');
  });

  it('HSDIR_STORE: 1..CHAT_DESCRIPTOR_MAX_LEN bytes of descriptor', () => {
    expect(toHex(encodeHsdirStore(descriptor))).toBe(m.descriptor);
    expect(toHex(decodeHsdirStore(descriptor))).toBe(m.descriptor);
    expect(decodeHsdirStore(new Uint8Array(CHAT_DESCRIPTOR_MAX_LEN)).length).toBe(CHAT_DESCRIPTOR_MAX_LEN);
    expect(codeOf(() => decodeHsdirStore(new Uint8Array(0)))).toBe('TRUNCATED');
    expect(codeOf(() => decodeHsdirStore(new Uint8Array(CHAT_DESCRIPTOR_MAX_LEN + 1)))).toBe('OVER_LENGTH');
    expect(codeOf(() => encodeHsdirStore(new Uint8Array(0)))).toBe('INVALID_ARGUMENT');
  });
});

/**
 * Relay descriptors through both crypto providers: sign → encode → decode → check, the
 * digest, field rules, and each refusal with its stable code (bad signature, missing or
 * wrong cross-certification, expired cert, published too old or too new, oversized,
 * truncated, trailing and non-canonical encodings).
 */
import { describe, expect, it } from 'vitest';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { toHex } from '../../src/bytes.js';
import { isChiveError } from '../../src/errors.js';
import {
  CertType, DESCRIPTOR_MAX_AGE_MS, DESCRIPTOR_MAX_FUTURE_MS, MAX_DESCRIPTOR_LEN, SIG_DOMAIN_CERT, SIG_DOMAIN_DESCRIPTOR,
} from '../../src/wire/constants.js';
import {
  type RelayDescriptor, checkDescriptor, decodeDescriptor, descriptorDigest, encodeDescriptor, parseRelayAddress,
  signDescriptor,
} from '../../src/dirdoc/index.js';
import { certBody, signKeyCert } from '../../src/dirdoc/cert.js';
import { encodeDescriptorBody } from '../../src/dirdoc/descriptor.js';
import { signWithDomain } from '../../src/dirdoc/signing.js';
import { HOUR, NOW, makeRelay, relayFields, seed } from './dirdoc-fixtures.js';

const providers = allCryptoProviders();

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (isChiveError(e)) return e.code;
    throw e;
  }
  return undefined;
}

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected a throw');
}

describe.each(providers.map((p) => [p.name, p] as const))('%s: descriptors', (_name, p: CryptoProvider) => {
  it('sign → encode → decode → check round-trips, and the digest names the encoding', () => {
    const { descriptor, identity } = makeRelay(p, 1);
    const bytes = encodeDescriptor(descriptor);
    const decoded = decodeDescriptor(bytes);
    expect(decoded).toEqual(descriptor);
    expect(toHex(encodeDescriptor(decoded))).toBe(toHex(bytes));
    const checked = checkDescriptor(p, decoded, NOW);
    expect(toHex(checked.identity)).toBe(toHex(identity));
    expect(toHex(checked.encoded)).toBe(toHex(bytes));
    expect(toHex(checked.digest)).toBe(toHex(p.sha256(bytes)));
    expect(toHex(descriptorDigest(p, decoded))).toBe(toHex(checked.digest));
    expect(bytes[0]).toBe(1);
  });

  it('normalises the family (sorted, unique, without the relay itself)', () => {
    const a = p.ed25519PublicKey(seed(5, 1));
    const b = p.ed25519PublicKey(seed(5, 2));
    const self = p.ed25519PublicKey(seed(1, 7));
    const { descriptor } = makeRelay(p, 7, { family: [b, a, b, self] });
    const expected = [a, b].sort((x, y) => Buffer.compare(x, y)).map(toHex);
    expect(descriptor.family.map(toHex)).toEqual(expected);
    expect(checkDescriptor(p, decodeDescriptor(encodeDescriptor(descriptor)), NOW).family.map(toHex)).toEqual(expected);
  });

  it('refuses a bad signature (BAD_SIGNATURE)', () => {
    const { descriptor } = makeRelay(p, 1);
    const sig = descriptor.signature.slice();
    sig[5]! ^= 1;
    expect(codeOf(() => checkDescriptor(p, { ...descriptor, signature: sig }, NOW))).toBe('BAD_SIGNATURE');
    // a field changed after signing
    expect(codeOf(() => checkDescriptor(p, { ...descriptor, bandwidth: descriptor.bandwidth + 1 }, NOW))).toBe('BAD_SIGNATURE');
    // a flipped bit in the encoding
    const bytes = encodeDescriptor(descriptor);
    bytes[40]! ^= 0x80;
    expect(codeOf(() => checkDescriptor(p, decodeDescriptor(bytes), NOW))).toBe('BAD_SIGNATURE');
  });

  it('refuses a missing or wrong cross-certification (BAD_CERT), even when the body is correctly signed', () => {
    const s = seed(1, 1);
    const fields = relayFields(p, 1);
    // the given (bad) certs under a valid body signature: only the cert check can catch them
    const resign = (d: Omit<RelayDescriptor, 'signature'>): RelayDescriptor =>
      ({ ...d, signature: signWithDomain(p, s, SIG_DOMAIN_DESCRIPTOR, encodeDescriptorBody(d)) });
    const good = signDescriptor(p, s, fields);
    const { signature: _sig, ...unsigned } = good;
    // missing: an all-zero cert
    const missing = resign({ ...unsigned, onionKeyCert: { expires: good.onionKeyCert.expires, signature: new Uint8Array(64) } });
    expect(messageOf(() => checkDescriptor(p, missing, NOW))).toContain('onion key is not certified');
    expect(codeOf(() => checkDescriptor(p, missing, NOW))).toBe('BAD_CERT');
    // wrong: certs swapped between onion and link key (right signer, wrong cert type and key)
    const swapped = resign({ ...unsigned, onionKeyCert: good.linkKeyCert, linkKeyCert: good.onionKeyCert });
    expect(codeOf(() => checkDescriptor(p, swapped, NOW))).toBe('BAD_CERT');
    // wrong: a link key certified by another identity
    const other = signKeyCert(p, seed(1, 99), CertType.LINK_KEY, good.linkKey, good.linkKeyCert.expires);
    const foreign = resign({ ...unsigned, linkKeyCert: other });
    expect(messageOf(() => checkDescriptor(p, foreign, NOW))).toContain('link key is not certified');
    // wrong: the cert's expiry changed after certification
    const stretched = resign({ ...unsigned, linkKeyCert: { ...good.linkKeyCert, expires: good.linkKeyCert.expires + 1 } });
    expect(codeOf(() => checkDescriptor(p, stretched, NOW))).toBe('BAD_CERT');
    // the cert body is certType ‖ key ‖ expires, in its own domain
    const body = certBody(CertType.ONION_KEY, good.onionKey, good.onionKeyCert.expires);
    expect(p.ed25519Verify(good.identity, Buffer.concat([Buffer.from(SIG_DOMAIN_CERT), Buffer.from([0]), body]), good.onionKeyCert.signature)).toBe(true);
  });

  it('refuses an expired cert (CERT_EXPIRED)', () => {
    const { descriptor } = makeRelay(p, 1, { onionKeyExpires: NOW - 1 });
    expect(codeOf(() => checkDescriptor(p, descriptor, NOW))).toBe('CERT_EXPIRED');
    const { descriptor: d2 } = makeRelay(p, 1, { linkKeyExpires: NOW });
    expect(messageOf(() => checkDescriptor(p, d2, NOW))).toContain('link key cert expired');
  });

  it('refuses a published time too far in the past or future, with configurable bounds', () => {
    const old = makeRelay(p, 1, { published: NOW - DESCRIPTOR_MAX_AGE_MS - 1 }).descriptor;
    expect(codeOf(() => checkDescriptor(p, old, NOW))).toBe('DESCRIPTOR_STALE');
    expect(checkDescriptor(p, makeRelay(p, 1, { published: NOW - DESCRIPTOR_MAX_AGE_MS }).descriptor, NOW).published).toBe(NOW - DESCRIPTOR_MAX_AGE_MS);
    const future = makeRelay(p, 1, { published: NOW + DESCRIPTOR_MAX_FUTURE_MS + 1 }).descriptor;
    expect(codeOf(() => checkDescriptor(p, future, NOW))).toBe('DESCRIPTOR_FROM_FUTURE');
    expect(checkDescriptor(p, future, NOW, { maxFutureMs: DESCRIPTOR_MAX_FUTURE_MS + 1 }).published).toBe(future.published);
    const hourOld = makeRelay(p, 1, { published: NOW - 2 * HOUR }).descriptor;
    expect(codeOf(() => checkDescriptor(p, hourOld, NOW, { maxAgeMs: HOUR }))).toBe('DESCRIPTOR_STALE');
  });

  it('both providers produce the same descriptor bytes (deterministic Ed25519)', () => {
    const bytes = providers.map((q) => toHex(encodeDescriptor(makeRelay(q, 3).descriptor)));
    expect(new Set(bytes).size).toBe(1);
  });
});

describe('descriptor encoding refusals', () => {
  const p = providers[0]!;
  const good = encodeDescriptor(makeRelay(p, 2, {
    family: [p.ed25519PublicKey(seed(5, 1)), p.ed25519PublicKey(seed(5, 2))],
  }).descriptor);

  it('refuses truncated input (TRUNCATED) at every length', () => {
    for (let n = 0; n < good.length; n++) {
      expect(codeOf(() => decodeDescriptor(good.subarray(0, n)))).toMatch(/^(TRUNCATED|DOCUMENT_BAD_FIELD|DOCUMENT_UNSUPPORTED_VERSION)$/);
    }
    expect(codeOf(() => decodeDescriptor(good.subarray(0, good.length - 1)))).toBe('TRUNCATED');
  });

  it('refuses trailing bytes (TRAILING_BYTES) and oversized input (OVER_LENGTH)', () => {
    expect(codeOf(() => decodeDescriptor(Uint8Array.from([...good, 0])))).toBe('TRAILING_BYTES');
    const huge = new Uint8Array(MAX_DESCRIPTOR_LEN + 1);
    huge.set(good);
    expect(codeOf(() => decodeDescriptor(huge))).toBe('OVER_LENGTH');
  });

  it('refuses another format version (DOCUMENT_UNSUPPORTED_VERSION)', () => {
    for (const version of [0, 3, 255]) {
      const other = good.slice();
      other[0] = version;
      expect(codeOf(() => decodeDescriptor(other))).toBe('DOCUMENT_UNSUPPORTED_VERSION');
    }
    // A format-1 body labelled format 2 (signing key expected after the identity) does not decode.
    const relabelled = good.slice();
    relabelled[0] = 2;
    expect(() => decodeDescriptor(relabelled)).toThrow();
  });

  it('refuses an unsorted family (DOCUMENT_NOT_CANONICAL)', () => {
    const d = decodeDescriptor(good);
    const [a, b] = d.family;
    const bytes = good.slice();
    const at = Buffer.from(bytes).indexOf(Buffer.from(a!));
    expect(at).toBeGreaterThan(0);
    bytes.set(b!, at);
    bytes.set(a!, at + 32);
    expect(codeOf(() => decodeDescriptor(bytes))).toBe('DOCUMENT_NOT_CANONICAL');
    // a duplicate is refused the same way
    bytes.set(a!, at + 32);
    bytes.set(a!, at);
    expect(codeOf(() => decodeDescriptor(bytes))).toBe('DOCUMENT_NOT_CANONICAL');
  });

  it('refuses a bad nickname on decode (DOCUMENT_BAD_FIELD)', () => {
    const d = decodeDescriptor(good);
    const bytes = good.slice();
    const at = Buffer.from(bytes).indexOf(Buffer.from(d.nickname));
    bytes[at] = '-'.charCodeAt(0);
    expect(codeOf(() => decodeDescriptor(bytes))).toBe('DOCUMENT_BAD_FIELD');
  });

  it('refuses bad fields when signing (INVALID_ARGUMENT) with the field named', () => {
    const bad = (o: Partial<Parameters<typeof relayFields>[2]>) => messageOf(() => signDescriptor(p, seed(1, 1), relayFields(p, 1, o)));
    expect(bad({ nickname: '' })).toContain('nickname');
    expect(bad({ nickname: 'a'.repeat(20) })).toContain('nickname');
    expect(bad({ nickname: 'bad name' })).toContain('nickname');
    expect(bad({ address: 'http://127.0.0.1:9001' })).toContain('address');
    expect(bad({ contact: 'x'.repeat(257) })).toContain('contact');
    expect(bad({ contact: 'evil\u001b[2J' })).toContain('control character');
    expect(bad({ softwareVersion: 'v'.repeat(65) })).toContain('software version');
    expect(bad({ bandwidth: 2 ** 32 })).toContain('bandwidth');
    expect(bad({ family: Array.from({ length: 17 }, (_, i) => p.ed25519PublicKey(seed(6, i))) })).toContain('family');
    expect(codeOf(() => signDescriptor(p, seed(1, 1), relayFields(p, 1, { nickname: '' })))).toBe('INVALID_ARGUMENT');
  });

  it('accepts the longest fields within MAX_DESCRIPTOR_LEN', () => {
    const family = Array.from({ length: 16 }, (_, i) => p.ed25519PublicKey(seed(6, i)));
    const exitPolicy = Array.from({ length: 128 }, (_, i) => ({ action: 'reject' as const, address: 0, maskBits: 0, portMin: i + 1, portMax: i + 1 }));
    const host = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(40)}`;
    const d = makeRelay(p, 1, {
      nickname: 'N'.repeat(19), address: `wss://${host}:65535`, family, exitPolicy,
      contact: 'é'.repeat(128), softwareVersion: 'v'.repeat(64),
    }).descriptor;
    const bytes = encodeDescriptor(d);
    expect(bytes.length).toBeLessThanOrEqual(MAX_DESCRIPTOR_LEN);
    expect(checkDescriptor(p, decodeDescriptor(bytes), NOW).contact).toBe('é'.repeat(128));
  });
});

describe('relay addresses', () => {
  it.each([
    ['ws://127.0.0.1:9001', { scheme: 'ws', host: '127.0.0.1', port: 9001, ipv4: 0x7f000001 }],
    ['wss://relay.example.org:443', { scheme: 'wss', host: 'relay.example.org', port: 443 }],
  ])('parses %s', (text, expected) => {
    expect(parseRelayAddress(text)).toEqual(expected);
  });

  it.each([
    'ws://127.0.0.1', 'ws://127.0.0.1:0', 'ws://127.0.0.1:65536', 'ws://127.0.0.1:09001', 'ws://127.0.0.01:9001',
    'ws://1.2.3:9001', 'ws://Relay.example.org:1', 'ws://a_b.org:1', 'ws://127.0.0.1:9001/path', 'ws://u@h:1',
    'http://127.0.0.1:9001', 'ws://[::1]:9001', 'ws://-a.org:1', '',
  ])('refuses %j', (text) => {
    expect(parseRelayAddress(text)).toBeUndefined();
  });
});

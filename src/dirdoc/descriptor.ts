/**
 * Relay descriptors: what a relay publishes about itself, signed by its identity key, or
 * by a medium-term signing key that the identity certified (the identity kept offline).
 *
 * Layout (docs/PROTOCOL.md §6.2), big-endian, one canonical encoding per descriptor:
 *   version u8 ‖ identity 32 ‖ [signingKey 32 ‖ signingKeyExpires u64 ‖ signingKeyCert 64] ‖
 *   published u64 ‖
 *   onionKey 32 ‖ onionKeyExpires u64 ‖ onionKeyCert 64 ‖
 *   linkKey 32 ‖ linkKeyExpires u64 ‖ linkKeyCert 64 ‖
 *   nickname u8-len ‖ address u8-len ‖ bandwidth u32 ‖ exit policy ‖ family ‖
 *   contact u16-len ‖ softwareVersion u8-len ‖ signature 64
 * The bracketed signing-key part is present exactly when version is
 * DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY (2); with DESCRIPTOR_FORMAT_VERSION (1) the
 * identity signs everything itself. The signature covers everything before it, in domain
 * SIG_DOMAIN_DESCRIPTOR. The descriptor digest is SHA-256 of the whole encoding,
 * signature included.
 *
 * This module encodes, decodes and signs. A decoded `RelayDescriptor` is unverified:
 * nothing here checks a signature or a time; `checkDescriptor` (descriptor-check.ts) does.
 */
import { ByteReader, ByteWriter } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import {
  CertType, DESCRIPTOR_FORMAT_VERSION, DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY, ED25519_KEY_LEN, ED25519_SIG_LEN, MAX_CONTACT_LEN, MAX_DESCRIPTOR_LEN,
  MAX_FAMILY_SIZE, MAX_NICKNAME_LEN, MAX_RELAY_ADDRESS_LEN, MAX_SOFTWARE_VERSION_LEN, SIG_DOMAIN_DESCRIPTOR, X25519_KEY_LEN,
} from '../wire/constants.js';
import { ChiveError } from '../errors.js';
import { type KeyCert, type SigningKeyCert, signKeyCert, verifySigningKeyCert } from './cert.js';
import { type ExitPolicy, checkExitPolicy, readExitPolicy, writeExitPolicy } from './exit-policy.js';
import {
  type Fail, checkIdentityList, checkKey, checkNickname, checkRelayAddress, checkText, checkUint, compareBytes,
  failLocal, failPeer, readIdentityList, readText16, readText8, writeIdentityList,
} from './fields.js';
import { signWithDomain, withSignature } from './signing.js';

export interface RelayDescriptor {
  /** Ed25519 identity public key: the relay's name in the network. */
  readonly identity: Uint8Array;
  /**
   * Format 2 only: the medium-term Ed25519 signing key the identity certified; it makes the
   * onion- and link-key certs and the signature. Absent in format 1 (the identity signs).
   */
  readonly signingKey?: SigningKeyCert;
  /** When the relay made this descriptor, ms since the Unix epoch. */
  readonly published: number;
  /** X25519 onion key (ntor) and its cert by the identity. */
  readonly onionKey: Uint8Array;
  readonly onionKeyCert: KeyCert;
  /** X25519 link key (Noise static) and its cert by the identity. */
  readonly linkKey: Uint8Array;
  readonly linkKeyCert: KeyCert;
  /** 1..19 characters of [A-Za-z0-9]; not unique, not authenticated by anyone but the relay. */
  readonly nickname: string;
  /** ws://HOST:PORT or wss://HOST:PORT (see parseRelayAddress). */
  readonly address: string;
  /** Advertised bandwidth, bytes per second (u32). */
  readonly bandwidth: number;
  readonly exitPolicy: ExitPolicy;
  /** Identities of relays run by the same operator: sorted, unique, ≤ 16, never the relay itself. */
  readonly family: readonly Uint8Array[];
  /** Operator contact, ≤ 256 bytes of UTF-8, no control characters (may be empty). */
  readonly contact: string;
  /** Software name and version, ≤ 64 bytes of UTF-8, no control characters. */
  readonly softwareVersion: string;
  /** Ed25519 signature by `identity` (or by `signingKey` in format 2) over the body (SIG_DOMAIN_DESCRIPTOR). */
  readonly signature: Uint8Array;
}

/** What a relay supplies to `signDescriptor`; identity, certs and signature are derived. */
export interface DescriptorFields {
  readonly published: number;
  readonly onionKey: Uint8Array;
  readonly onionKeyExpires: number;
  readonly linkKey: Uint8Array;
  readonly linkKeyExpires: number;
  readonly nickname: string;
  readonly address: string;
  readonly bandwidth: number;
  readonly exitPolicy: ExitPolicy;
  /** Any order, duplicates and the relay's own identity allowed: signDescriptor normalises. */
  readonly family?: readonly Uint8Array[];
  readonly contact?: string;
  readonly softwareVersion: string;
}

/** Every field rule of a descriptor, except signatures and times (checkDescriptor's job). */
export function checkDescriptorFields(d: Omit<RelayDescriptor, 'signature'>, fail: Fail): void {
  checkKey(d.identity, ED25519_KEY_LEN, 'identity', fail);
  if (d.signingKey !== undefined) {
    checkKey(d.signingKey.key, ED25519_KEY_LEN, 'signing key', fail);
    checkUint(d.signingKey.expires, Number.MAX_SAFE_INTEGER, 'signing key cert expiry', fail);
    checkKey(d.signingKey.signature, ED25519_SIG_LEN, 'signing key cert', fail);
  }
  checkUint(d.published, Number.MAX_SAFE_INTEGER, 'published', fail);
  checkKey(d.onionKey, X25519_KEY_LEN, 'onion key', fail);
  checkUint(d.onionKeyCert.expires, Number.MAX_SAFE_INTEGER, 'onion key cert expiry', fail);
  checkKey(d.onionKeyCert.signature, ED25519_SIG_LEN, 'onion key cert', fail);
  checkKey(d.linkKey, X25519_KEY_LEN, 'link key', fail);
  checkUint(d.linkKeyCert.expires, Number.MAX_SAFE_INTEGER, 'link key cert expiry', fail);
  checkKey(d.linkKeyCert.signature, ED25519_SIG_LEN, 'link key cert', fail);
  checkNickname(d.nickname, fail);
  checkRelayAddress(d.address, fail);
  checkUint(d.bandwidth, 0xffff_ffff, 'bandwidth', fail);
  checkExitPolicy(d.exitPolicy, fail);
  checkIdentityList(d.family, MAX_FAMILY_SIZE, 'family', fail);
  if (d.family.some((k) => compareBytes(k, d.identity) === 0)) fail('field', 'family must not list the relay itself');
  checkText(d.contact, MAX_CONTACT_LEN, 'contact', fail);
  checkText(d.softwareVersion, MAX_SOFTWARE_VERSION_LEN, 'software version', fail);
}

/** The signed body: the encoding without the trailing signature. Refuses bad fields (INVALID_ARGUMENT). */
export function encodeDescriptorBody(d: Omit<RelayDescriptor, 'signature'>): Uint8Array {
  checkDescriptorFields(d, failLocal('descriptor'));
  const w = new ByteWriter(MAX_DESCRIPTOR_LEN - ED25519_SIG_LEN, 512, 'descriptor');
  const sk = d.signingKey;
  w.u8(sk ? DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY : DESCRIPTOR_FORMAT_VERSION).bytes(d.identity);
  if (sk) w.bytes(sk.key).u64(sk.expires).bytes(sk.signature);
  w.u64(d.published);
  w.bytes(d.onionKey).u64(d.onionKeyCert.expires).bytes(d.onionKeyCert.signature);
  w.bytes(d.linkKey).u64(d.linkKeyCert.expires).bytes(d.linkKeyCert.signature);
  w.string8(d.nickname).string8(d.address).u32(d.bandwidth);
  writeExitPolicy(w, d.exitPolicy);
  writeIdentityList(w, d.family);
  w.string16(d.contact).string8(d.softwareVersion);
  return w.finish();
}

export function encodeDescriptor(d: RelayDescriptor): Uint8Array {
  return withSignature('descriptor', encodeDescriptorBody(d), d.signature);
}

/**
 * Decodes a descriptor (unverified). Refuses input over MAX_DESCRIPTOR_LEN, truncated or
 * trailing bytes, another format version, bad fields and non-canonical encodings.
 */
export function decodeDescriptor(bytes: Uint8Array): RelayDescriptor {
  return decodeDescriptorWithBody(bytes).descriptor;
}

/** decodeDescriptor, also returning the signed body (a view into `bytes`). */
export function decodeDescriptorWithBody(bytes: Uint8Array): { descriptor: RelayDescriptor; body: Uint8Array } {
  const fail = failPeer('descriptor');
  const r = ByteReader.of(bytes, MAX_DESCRIPTOR_LEN, 'descriptor');
  const version = r.u8('format version');
  if (version !== DESCRIPTOR_FORMAT_VERSION && version !== DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY) {
    throw new ChiveError(
      'DOCUMENT_UNSUPPORTED_VERSION',
      `descriptor: format version ${version} is not supported (expected ${DESCRIPTOR_FORMAT_VERSION} or ${DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY})`,
    );
  }
  const identity = r.bytes(ED25519_KEY_LEN, 'identity', true);
  const signingKey: SigningKeyCert | undefined =
    version === DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY
      ? { key: r.bytes(ED25519_KEY_LEN, 'signing key', true), expires: r.u64('signing key cert expiry'), signature: r.bytes(ED25519_SIG_LEN, 'signing key cert', true) }
      : undefined;
  const published = r.u64('published');
  const onionKey = r.bytes(X25519_KEY_LEN, 'onion key', true);
  const onionKeyCert = { expires: r.u64('onion key cert expiry'), signature: r.bytes(ED25519_SIG_LEN, 'onion key cert', true) };
  const linkKey = r.bytes(X25519_KEY_LEN, 'link key', true);
  const linkKeyCert = { expires: r.u64('link key cert expiry'), signature: r.bytes(ED25519_SIG_LEN, 'link key cert', true) };
  const nickname = readText8(r, MAX_NICKNAME_LEN, 'nickname', fail);
  const address = readText8(r, MAX_RELAY_ADDRESS_LEN, 'address', fail);
  const bandwidth = r.u32('bandwidth');
  const exitPolicy = readExitPolicy(r, fail);
  const family = readIdentityList(r, MAX_FAMILY_SIZE, 'family', fail);
  const contact = readText16(r, MAX_CONTACT_LEN, 'contact', fail);
  const softwareVersion = readText8(r, MAX_SOFTWARE_VERSION_LEN, 'software version', fail);
  const bodyLength = r.offset;
  const signature = r.bytes(ED25519_SIG_LEN, 'signature', true);
  r.end();
  const descriptor: RelayDescriptor = {
    identity, ...(signingKey ? { signingKey } : {}), published, onionKey, onionKeyCert, linkKey, linkKeyCert, nickname, address,
    bandwidth, exitPolicy, family, contact, softwareVersion, signature,
  };
  checkDescriptorFields(descriptor, fail);
  return { descriptor, body: bytes.subarray(0, bodyLength) };
}

/**
 * Builds and signs a descriptor from the relay's identity seed: derives the identity,
 * certifies the onion and link keys, normalises the family (sorted, unique, without the
 * relay itself), and signs. Refuses bad fields with INVALID_ARGUMENT.
 */
export function signDescriptor(provider: CryptoProvider, identitySeed: Uint8Array, fields: DescriptorFields): RelayDescriptor {
  checkKey(identitySeed, ED25519_KEY_LEN, 'identity seed', failLocal('signDescriptor'));
  return buildAndSign(provider, provider.ed25519PublicKey(identitySeed), identitySeed, undefined, fields);
}

/** A relay whose identity key is offline: its identity, its signing key's seed, and the identity's cert of that key. */
export interface DescriptorSigningKey {
  readonly identity: Uint8Array;
  readonly signingSeed: Uint8Array;
  readonly cert: SigningKeyCert;
}

/**
 * Builds a format-2 descriptor (DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY): the signing key
 * certifies the onion and link keys and signs; the descriptor carries the identity's cert
 * of the signing key. Refuses (INVALID_ARGUMENT) a seed that is not the cert's key or a
 * cert the identity did not make; expiry is the caller's to watch (checkDescriptor refuses
 * an expired one).
 */
export function signDescriptorWithSigningKey(provider: CryptoProvider, signer: DescriptorSigningKey, fields: DescriptorFields): RelayDescriptor {
  const fail = failLocal('signDescriptorWithSigningKey');
  checkKey(signer.signingSeed, ED25519_KEY_LEN, 'signing key seed', fail);
  checkKey(signer.identity, ED25519_KEY_LEN, 'identity', fail);
  if (!provider.equal(provider.ed25519PublicKey(signer.signingSeed), signer.cert.key)) fail('field', 'the signing key seed does not match the cert');
  if (!verifySigningKeyCert(provider, signer.identity, signer.cert)) fail('field', 'the signing key cert is not by this identity');
  return buildAndSign(provider, signer.identity, signer.signingSeed, signer.cert, fields);
}

function buildAndSign(
  provider: CryptoProvider, identity: Uint8Array, signerSeed: Uint8Array, signingKey: SigningKeyCert | undefined, fields: DescriptorFields,
): RelayDescriptor {
  const family = normaliseFamily(fields.family ?? [], identity);
  const unsigned: Omit<RelayDescriptor, 'signature'> = {
    identity,
    ...(signingKey ? { signingKey } : {}),
    published: fields.published,
    onionKey: fields.onionKey,
    onionKeyCert: signKeyCert(provider, signerSeed, CertType.ONION_KEY, fields.onionKey, fields.onionKeyExpires),
    linkKey: fields.linkKey,
    linkKeyCert: signKeyCert(provider, signerSeed, CertType.LINK_KEY, fields.linkKey, fields.linkKeyExpires),
    nickname: fields.nickname,
    address: fields.address,
    bandwidth: fields.bandwidth,
    exitPolicy: fields.exitPolicy,
    family,
    contact: fields.contact ?? '',
    softwareVersion: fields.softwareVersion,
  };
  const signature = signWithDomain(provider, signerSeed, SIG_DOMAIN_DESCRIPTOR, encodeDescriptorBody(unsigned));
  return { ...unsigned, signature };
}

function normaliseFamily(family: readonly Uint8Array[], self: Uint8Array): Uint8Array[] {
  const sorted = family.filter((k) => compareBytes(k, self) !== 0).map((k) => k.slice()).sort(compareBytes);
  return sorted.filter((k, i) => i === 0 || compareBytes(sorted[i - 1]!, k) !== 0);
}

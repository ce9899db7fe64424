/**
 * Checking a relay descriptor: the only way to get a `CheckedDescriptor`.
 *
 * `checkDescriptor` verifies, in this order: every field rule; in format 2, the identity's
 * cert of the signing key (BAD_CERT); the signer's signature over the body (BAD_SIGNATURE;
 * the signer is the identity, or the signing key in format 2); both key certs by the signer
 * (BAD_CERT: missing or wrong cross-certification); that no cert has expired at `now`
 * (CERT_EXPIRED); and that
 * `published` is neither older than `maxAgeMs` (DESCRIPTOR_STALE) nor further ahead than
 * `maxFutureMs` (DESCRIPTOR_FROM_FUTURE). Defaults: DESCRIPTOR_MAX_AGE_MS (24 h),
 * DESCRIPTOR_MAX_FUTURE_MS (5 min).
 *
 * Not here: whether the relay is reachable or holds its private keys (the authority's
 * NK handshake and every CREATE2 prove those), nor whether another descriptor already
 * claims this identity (the authority's store decides that).
 */
import { ChiveError } from '../errors.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { CertType, DESCRIPTOR_MAX_AGE_MS, DESCRIPTOR_MAX_FUTURE_MS, SIG_DOMAIN_DESCRIPTOR } from '../wire/constants.js';
import { verifyKeyCert, verifySigningKeyCert } from './cert.js';
import { type RelayDescriptor, checkDescriptorFields, encodeDescriptor, encodeDescriptorBody } from './descriptor.js';
import { failPeer, isoTime as iso, shortKey } from './fields.js';
import { verifyWithDomain } from './signing.js';

declare const checkedDescriptorBrand: unique symbol;

/** A descriptor whose signature, certs and times were checked; carries its encoding and digest. */
export type CheckedDescriptor = RelayDescriptor & {
  /** The canonical encoding (what votes embed and authorities store). */
  readonly encoded: Uint8Array;
  /** SHA-256 of `encoded`: the name of this descriptor. */
  readonly digest: Uint8Array;
  readonly [checkedDescriptorBrand]: true;
};

export interface DescriptorTimeOptions {
  /** Refuse a descriptor published more than this long before `now` (default DESCRIPTOR_MAX_AGE_MS). */
  readonly maxAgeMs?: number;
  /** Refuse a descriptor published more than this long after `now` (default DESCRIPTOR_MAX_FUTURE_MS). */
  readonly maxFutureMs?: number;
}

/** SHA-256 of the descriptor's canonical encoding. */
export function descriptorDigest(provider: CryptoProvider, descriptor: RelayDescriptor): Uint8Array {
  return provider.sha256(encodeDescriptor(descriptor));
}

/** The time rules alone (cert expiry, published window), for a descriptor whose crypto is already checked. */
export function checkDescriptorTimes(descriptor: RelayDescriptor, now: number, options: DescriptorTimeOptions = {}): void {
  const who = `descriptor of ${descriptor.nickname} (${shortKey(descriptor.identity)})`;
  const certs = [['onion key', descriptor.onionKeyCert], ['link key', descriptor.linkKeyCert]] as const;
  const withSigning = descriptor.signingKey ? [['signing key', descriptor.signingKey] as const, ...certs] : certs;
  for (const [name, cert] of withSigning) {
    if (cert.expires <= now) {
      throw new ChiveError('CERT_EXPIRED', `${who}: ${name} cert expired at ${iso(cert.expires)} (now ${iso(now)})`);
    }
  }
  const maxAge = options.maxAgeMs ?? DESCRIPTOR_MAX_AGE_MS;
  const maxFuture = options.maxFutureMs ?? DESCRIPTOR_MAX_FUTURE_MS;
  if (descriptor.published < now - maxAge) {
    throw new ChiveError('DESCRIPTOR_STALE', `${who}: published ${iso(descriptor.published)}, more than ${maxAge} ms before now (${iso(now)})`);
  }
  if (descriptor.published > now + maxFuture) {
    throw new ChiveError('DESCRIPTOR_FROM_FUTURE', `${who}: published ${iso(descriptor.published)}, more than ${maxFuture} ms after now (${iso(now)})`);
  }
}

/** Verifies signature, certs and times (see the module comment); returns the checked descriptor. */
export function checkDescriptor(
  provider: CryptoProvider, descriptor: RelayDescriptor, now: number, options: DescriptorTimeOptions = {},
): CheckedDescriptor {
  checkDescriptorFields(descriptor, failPeer('descriptor'));
  const who = `descriptor of ${descriptor.nickname} (${shortKey(descriptor.identity)})`;
  const body = encodeDescriptorBody(descriptor);
  if (descriptor.signingKey && !verifySigningKeyCert(provider, descriptor.identity, descriptor.signingKey)) {
    throw new ChiveError('BAD_CERT', `${who}: the signing key is not certified by the identity key (missing or wrong cert)`);
  }
  const signer = descriptor.signingKey?.key ?? descriptor.identity;
  const signerName = descriptor.signingKey ? 'signing key' : 'identity key';
  if (!verifyWithDomain(provider, signer, SIG_DOMAIN_DESCRIPTOR, body, descriptor.signature)) {
    throw new ChiveError('BAD_SIGNATURE', `${who}: the signature does not verify under the ${signerName}`);
  }
  if (!verifyKeyCert(provider, signer, CertType.ONION_KEY, descriptor.onionKey, descriptor.onionKeyCert)) {
    throw new ChiveError('BAD_CERT', `${who}: the onion key is not certified by the ${signerName} (missing or wrong cert)`);
  }
  if (!verifyKeyCert(provider, signer, CertType.LINK_KEY, descriptor.linkKey, descriptor.linkKeyCert)) {
    throw new ChiveError('BAD_CERT', `${who}: the link key is not certified by the ${signerName} (missing or wrong cert)`);
  }
  checkDescriptorTimes(descriptor, now, options);
  return brand(provider, descriptor);
}

function brand(provider: CryptoProvider, descriptor: RelayDescriptor): CheckedDescriptor {
  const encoded = encodeDescriptor(descriptor);
  return { ...descriptor, encoded, digest: provider.sha256(encoded) } as CheckedDescriptor;
}

/** TESTS ONLY: treats a descriptor as checked without checking anything. */
export function dangerouslyAssumeCheckedDescriptor(provider: CryptoProvider, descriptor: RelayDescriptor): CheckedDescriptor {
  return brand(provider, descriptor);
}

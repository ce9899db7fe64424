/**
 * Key certificates: a relay's Ed25519 identity vouching for one of its X25519 keys.
 *
 * A cert is an Ed25519 signature by the identity key over
 *     utf8(SIG_DOMAIN_CERT) ‖ 0x00 ‖ certType u8 ‖ certified key (32) ‖ expires u64 (ms)
 * and travels in a descriptor as (expires, signature) next to the key it certifies.
 * The cert binds the key to the identity; it does not prove that the relay holds the
 * private key (ntor AUTH proves the onion key on every CREATE2, the authority's Noise NK
 * reachability test proves the link key).
 *
 * Not the descriptor codec; no time checks here (see descriptor-check.ts).
 */
import { ByteWriter } from '../bytes.js';
import type { CryptoProvider } from '../crypto/provider.js';
import { CertType, SIG_DOMAIN_CERT, X25519_KEY_LEN } from '../wire/constants.js';
import { signWithDomain, verifyWithDomain } from './signing.js';

export type CertTypeCode = (typeof CertType)[keyof typeof CertType];

/** A certificate as carried in a descriptor, next to the key it certifies. */
export interface KeyCert {
  /** When the certification lapses, ms since the Unix epoch. */
  readonly expires: number;
  /** Ed25519 signature by the relay identity (see the module comment). */
  readonly signature: Uint8Array;
}

/** The signed body of a cert: certType u8 ‖ key (32) ‖ expires u64. */
export function certBody(certType: CertTypeCode, key: Uint8Array, expires: number): Uint8Array {
  return new ByteWriter(1 + X25519_KEY_LEN + 8, 41, 'key cert').u8(certType).bytes(key).u64(expires).finish();
}

export function signKeyCert(
  provider: CryptoProvider, identitySeed: Uint8Array, certType: CertTypeCode, key: Uint8Array, expires: number,
): KeyCert {
  return { expires, signature: signWithDomain(provider, identitySeed, SIG_DOMAIN_CERT, certBody(certType, key, expires)) };
}

export function verifyKeyCert(
  provider: CryptoProvider, identity: Uint8Array, certType: CertTypeCode, key: Uint8Array, cert: KeyCert,
): boolean {
  return verifyWithDomain(provider, identity, SIG_DOMAIN_CERT, certBody(certType, key, cert.expires), cert.signature);
}

/**
 * Key certificates: a relay's Ed25519 identity vouching for one of its keys.
 *
 * A cert is an Ed25519 signature by the signer over
 *     utf8(SIG_DOMAIN_CERT) ‖ 0x00 ‖ certType u8 ‖ certified key (32) ‖ expires u64 (ms)
 * and travels in a descriptor as (expires, signature) next to the key it certifies. The
 * signer is the identity key, except in a format-2 descriptor (identity kept offline): there
 * the identity certifies a medium-term Ed25519 signing key (CertType.SIGNING_KEY) and the
 * signing key certifies the onion and link keys.
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

/** A cert of `key` by the signer whose Ed25519 seed is `signerSeed` (the identity, or a signing key). */
export function signKeyCert(
  provider: CryptoProvider, signerSeed: Uint8Array, certType: CertTypeCode, key: Uint8Array, expires: number,
): KeyCert {
  return { expires, signature: signWithDomain(provider, signerSeed, SIG_DOMAIN_CERT, certBody(certType, key, expires)) };
}

export function verifyKeyCert(
  provider: CryptoProvider, signer: Uint8Array, certType: CertTypeCode, key: Uint8Array, cert: KeyCert,
): boolean {
  return verifyWithDomain(provider, signer, SIG_DOMAIN_CERT, certBody(certType, key, cert.expires), cert.signature);
}

/** A medium-term Ed25519 signing key and the identity's cert of it (CertType.SIGNING_KEY). */
export interface SigningKeyCert extends KeyCert {
  /** The signing key's Ed25519 public key. */
  readonly key: Uint8Array;
}

/** The identity (seed `identitySeed`) certifies `signingKey` until `expires` (ms). */
export function signSigningKeyCert(provider: CryptoProvider, identitySeed: Uint8Array, signingKey: Uint8Array, expires: number): SigningKeyCert {
  return { key: signingKey, ...signKeyCert(provider, identitySeed, CertType.SIGNING_KEY, signingKey, expires) };
}

/** True only when `cert` is `identity`'s cert of its signing key (expiry not checked). */
export function verifySigningKeyCert(provider: CryptoProvider, identity: Uint8Array, cert: SigningKeyCert): boolean {
  return verifyKeyCert(provider, identity, CertType.SIGNING_KEY, cert.key, cert);
}

/**
 * Domain-separated Ed25519 signatures for directory documents.
 *
 * Every signature covers `utf8(domain) ‖ 0x00 ‖ body`, with one domain per document kind
 * (SIG_DOMAIN_* in src/wire/constants.ts), so a signature made for one kind of document
 * can never be replayed as another. Domains contain no 0x00 byte, so the split is unique.
 *
 * Not a key store and not a document codec: callers pass the body bytes.
 */
import { concatBytes, utf8 } from '../bytes.js';
import { ED25519_SIG_LEN } from '../wire/constants.js';
import { checkKey, failLocal } from './fields.js';
import type { CryptoProvider } from '../crypto/provider.js';

export type SignatureDomain = string;

/** The exact bytes signed: utf8(domain) ‖ 0x00 ‖ body. */
export function domainMessage(domain: SignatureDomain, body: Uint8Array): Uint8Array {
  return concatBytes(utf8(domain), new Uint8Array([0]), body);
}

/** Ed25519 signature by `seed` over `body` in `domain`. */
export function signWithDomain(provider: CryptoProvider, seed: Uint8Array, domain: SignatureDomain, body: Uint8Array): Uint8Array {
  return provider.ed25519Sign(seed, domainMessage(domain, body));
}

/** True only when `signature` is a valid Ed25519 signature by `publicKey` over `body` in `domain`. */
export function verifyWithDomain(
  provider: CryptoProvider, publicKey: Uint8Array, domain: SignatureDomain, body: Uint8Array, signature: Uint8Array,
): boolean {
  return provider.ed25519Verify(publicKey, domainMessage(domain, body), signature);
}

/** A signed document's encoding: its body followed by its 64-byte signature (checked). */
export function withSignature(what: string, body: Uint8Array, signature: Uint8Array): Uint8Array {
  checkKey(signature, ED25519_SIG_LEN, `${what} signature`, failLocal(what));
  return concatBytes(body, signature);
}

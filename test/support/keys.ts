/** A fresh X25519 key pair from a provider, for tests. */
import type { CryptoProvider } from '../../src/crypto/provider.js';

export function keyPair(p: CryptoProvider): { secret: Uint8Array; publicKey: Uint8Array } {
  const secret = p.randomBytes(32);
  return { secret, publicKey: p.x25519PublicKey(secret) };
}

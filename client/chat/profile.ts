/**
 * A chat profile: the data directory that is one person's chive identity. It holds the
 * Ed25519 chat identity (whose public key is the chive1… address), the X25519 key
 * introductions are encrypted to (published in the descriptor), the message store, and the
 * client's own state (consensus cache, guards) — directory mode 0700, every key file 0600.
 *
 * Not the message store (message-store.ts) and not the network client.
 */
import { join } from 'node:path';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { encodeChatAddress } from '../../src/chat/address.js';
import { ensureDataDir, loadOrCreateKeyFile } from '../../src/io/key-files.js';

export interface ChatProfile {
  readonly dir: string;
  /** Ed25519 seed of the chat identity (secret). */
  readonly identitySeed: Uint8Array;
  readonly identityPub: Uint8Array;
  readonly address: string;
  /** X25519 secret that introductions are sealed to, and its public key. */
  readonly introEncSecret: Uint8Array;
  readonly introEncPub: Uint8Array;
  /** Where the network client keeps its consensus cache and guards. */
  readonly clientDir: string;
  /** Where the message store lives. */
  readonly storeDir: string;
}

/** Opens (creating on first use) the profile in `dir`. */
export function openChatProfile(provider: CryptoProvider, dir: string): ChatProfile {
  ensureDataDir(dir);
  const identitySeed = loadOrCreateKeyFile(join(dir, 'chat-identity.key'), 'chat-identity-ed25519', 32, () => provider.randomBytes(32));
  const introEncSecret = loadOrCreateKeyFile(join(dir, 'chat-intro.key'), 'chat-intro-x25519', 32, () => provider.randomBytes(32));
  const identityPub = provider.ed25519PublicKey(identitySeed);
  return {
    dir,
    identitySeed,
    identityPub,
    address: encodeChatAddress(provider, identityPub),
    introEncSecret,
    introEncPub: provider.x25519PublicKey(introEncSecret),
    clientDir: ensureDataDir(join(dir, 'client')),
    storeDir: ensureDataDir(join(dir, 'messages')),
  };
}

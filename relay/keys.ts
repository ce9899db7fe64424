/**
 * A relay's keys on disk: the long-term Ed25519 identity, the X25519 link key (Noise
 * static) and the medium-term X25519 onion key (ntor), with rotation of the onion key on a
 * schedule while the previous one is kept for handshakes in flight.
 *
 * The identity key may be kept offline: then the data directory holds instead a
 * medium-term Ed25519 signing key and the identity's cert of it, made (and renewed) by
 * `chive relay keygen --identity-key FILE` (relay/keygen.ts). The relay then publishes
 * format-2 descriptors signed by the signing key (src/dirdoc/descriptor.ts) and must have
 * the key renewed before the cert expires: it refuses to start with an expired one
 * (SIGNING_KEY_EXPIRED) and the daemon warns from SIGNING_KEY_WARN_MS before.
 *
 * Layout, under `<DataDirectory>/keys/` (directory 0700, files 0600):
 *   identity.key            Ed25519 seed (absent when the identity is offline)
 *   signing.key             Ed25519 seed of the signing key (offline identity only)
 *   signing-cert.json       { identity, signingKey, expires, expiresAt, signature } (offline identity only)
 *   link.key                X25519 secret
 *   onion.key               X25519 secret, current
 *   onion-previous.key      X25519 secret, the one before (deleted once past its grace)
 *   onion-state.json        { createdAt, previousRetiredAt } (ms)
 * When identity.key is there the identity is online and signs itself (format-1
 * descriptors, as relays made before the signing key existed); signing files are ignored.
 *
 * Not the descriptor upload (relay/directory-sync.ts) and not keygen's command line.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import type { NtorOnionKeyPair } from '../src/handshake/ntor.js';
import { ChiveError } from '../src/errors.js';
import { fromHex, toHex } from '../src/bytes.js';
import {
  type DescriptorFields, type RelayDescriptor, type SigningKeyCert, signDescriptor, signDescriptorWithSigningKey, verifySigningKeyCert,
} from '../src/dirdoc/index.js';
import { ensureDataDir, loadOrCreateKeyFile, readKeyFile, writeFileAtomic, writeKeyFile } from '../src/io/key-files.js';

const DAY_MS = 24 * 3600 * 1000;
/** The daemon and `chive relay check` warn this long before the signing key expires. */
export const SIGNING_KEY_WARN_MS = 7 * DAY_MS;
/** How long `chive relay keygen` certifies a signing key for, unless told otherwise. */
export const DEFAULT_SIGNING_KEY_LIFETIME_MS = 30 * DAY_MS;

/** File names under `<DataDirectory>/keys/`. */
export const KEY_FILES = {
  identity: 'identity.key',
  signing: 'signing.key',
  signingCert: 'signing-cert.json',
  link: 'link.key',
  onion: 'onion.key',
  onionPrevious: 'onion-previous.key',
  onionState: 'onion-state.json',
} as const;

/** Key-file kinds (the first line of each key file). */
export const KEY_KINDS = {
  identity: 'ed25519-identity',
  signing: 'ed25519-signing',
  link: 'x25519-link',
  onion: 'x25519-onion',
} as const;

export function relayKeysDir(dataDir: string): string {
  return join(dataDir, 'keys');
}

/** The text of signing-cert.json: the identity and the cert, in hex, with a readable expiry. */
export function formatSigningCertFile(identity: Uint8Array, cert: SigningKeyCert): string {
  return (
    JSON.stringify(
      {
        identity: toHex(identity),
        signingKey: toHex(cert.key),
        expires: cert.expires,
        expiresAt: new Date(cert.expires).toISOString(),
        signature: toHex(cert.signature),
      },
      null,
      2,
    ) + '\n'
  );
}

/** Reads signing-cert.json and checks the identity's signature on it (KEY_FILE_CORRUPT otherwise). */
export function readSigningCertFile(provider: CryptoProvider, path: string): { identity: Uint8Array; cert: SigningKeyCert } {
  const corrupt = (why: string): never => {
    throw new ChiveError('KEY_FILE_CORRUPT', `signing key cert ${path} ${why}`);
  };
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    return corrupt(`cannot be read: ${(e as Error).message}`);
  }
  const hex = (field: string, bytes: number): Uint8Array => {
    const text = v[field];
    if (typeof text !== 'string' || !new RegExp(`^[0-9a-f]{${bytes * 2}}$`).test(text)) return corrupt(`has no valid ${field}`);
    return fromHex(text);
  };
  const identity = hex('identity', 32);
  const cert: SigningKeyCert = { key: hex('signingKey', 32), expires: v.expires as number, signature: hex('signature', 64) };
  if (!Number.isSafeInteger(cert.expires) || cert.expires < 0) corrupt('has no valid expires');
  if (!verifySigningKeyCert(provider, identity, cert)) corrupt('is not signed by the identity it names');
  return { identity, cert };
}

export interface RelayKeyOptions {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  readonly dataDir: string;
  /** Replace the onion key when it is this old (ms). */
  readonly onionKeyRotationMs: number;
  /** Keep the previous onion key this long after rotation (ms). */
  readonly onionKeyGraceMs: number;
  readonly now: () => number;
}

interface OnionState {
  createdAt: number;
  previousRetiredAt: number | null;
}

/** The signing key of a relay whose identity is offline. */
export interface RelaySigningKey {
  readonly seed: Uint8Array;
  readonly cert: SigningKeyCert;
}

export class RelayKeys {
  /** The identity's Ed25519 seed, or null when the identity key is kept offline. */
  readonly identitySeed: Uint8Array | null;
  readonly identity: Uint8Array;
  private signing: RelaySigningKey | null;
  readonly linkSecret: Uint8Array;
  readonly linkKey: Uint8Array;
  private current!: NtorOnionKeyPair;
  private previous: NtorOnionKeyPair | null = null;
  private state!: OnionState;
  private readonly dir: string;

  constructor(private readonly options: RelayKeyOptions) {
    const { provider, rng } = options;
    this.dir = ensureDataDir(relayKeysDir(options.dataDir));
    const identityPath = join(this.dir, KEY_FILES.identity);
    const signingPath = join(this.dir, KEY_FILES.signing);
    const certPath = join(this.dir, KEY_FILES.signingCert);
    if (!existsSync(identityPath) && existsSync(signingPath) && existsSync(certPath)) {
      const { identity, cert } = readSigningCertFile(provider, certPath);
      const seed = readKeyFile(signingPath, KEY_KINDS.signing, 32);
      if (!provider.equal(provider.ed25519PublicKey(seed), cert.key)) {
        throw new ChiveError('KEY_FILE_CORRUPT', `${signingPath} is not the signing key that ${certPath} certifies; run chive relay keygen --identity-key again`);
      }
      if (cert.expires <= options.now()) {
        throw new ChiveError(
          'SIGNING_KEY_EXPIRED',
          `the signing key in ${signingPath} expired at ${new Date(cert.expires).toISOString()}; renew it with: ` +
            `chive relay keygen --data-directory ${options.dataDir} --identity-key <your offline identity.key>`,
        );
      }
      this.identitySeed = null;
      this.identity = identity;
      this.signing = { seed, cert };
    } else {
      this.identitySeed = loadOrCreateKeyFile(identityPath, KEY_KINDS.identity, 32, () => rng(32));
      this.identity = provider.ed25519PublicKey(this.identitySeed);
      this.signing = null;
    }
    this.linkSecret = loadOrCreateKeyFile(join(this.dir, KEY_FILES.link), KEY_KINDS.link, 32, () => rng(32));
    this.linkKey = provider.x25519PublicKey(this.linkSecret);
    this.loadOnionKeys();
  }

  /** The medium-term signing key (identity offline), or null when the identity is online. */
  get signingKey(): RelaySigningKey | null {
    return this.signing;
  }

  /** True when the identity key is kept offline (the relay signs with its signing key). */
  get identityOffline(): boolean {
    return this.signing !== null;
  }

  /**
   * Picks up a signing key renewed on disk (`chive relay keygen --identity-key` while the
   * relay runs): adopts it when its cert is for this identity, verifies, matches its key and
   * expires later than the one in use. Returns true when it changed (republish the
   * descriptor). Never throws: a half-written or foreign file is left for the next try.
   */
  refreshSigningKey(): boolean {
    if (this.signing === null) return false;
    const { provider } = this.options;
    try {
      const { identity, cert } = readSigningCertFile(provider, join(this.dir, KEY_FILES.signingCert));
      if (!provider.equal(identity, this.identity) || cert.expires <= this.signing.cert.expires) return false;
      const seed = readKeyFile(join(this.dir, KEY_FILES.signing), KEY_KINDS.signing, 32);
      if (!provider.equal(provider.ed25519PublicKey(seed), cert.key)) return false;
      this.signing.seed.fill(0);
      this.signing = { seed, cert };
      return true;
    } catch {
      return false;
    }
  }

  /** When the signing key's cert expires (ms), or null when the identity is online. */
  get signingKeyExpiresAt(): number | null {
    return this.signingKey?.cert.expires ?? null;
  }

  /**
   * Signs a descriptor: with the identity (format 1) when it is online, else with the
   * signing key (format 2), the onion- and link-key certs then expiring no later than it.
   */
  signDescriptor(fields: DescriptorFields): RelayDescriptor {
    const { provider } = this.options;
    if (this.identitySeed !== null) return signDescriptor(provider, this.identitySeed, fields);
    const { seed, cert } = this.signing!;
    return signDescriptorWithSigningKey(
      provider,
      { identity: this.identity, signingSeed: seed, cert },
      { ...fields, onionKeyExpires: Math.min(fields.onionKeyExpires, cert.expires), linkKeyExpires: Math.min(fields.linkKeyExpires, cert.expires) },
    );
  }

  private loadOnionKeys(): void {
    const { provider, rng, now } = this.options;
    const statePath = join(this.dir, KEY_FILES.onionState);
    const currentPath = join(this.dir, KEY_FILES.onion);
    if (!existsSync(currentPath) || !existsSync(statePath)) {
      const secret = rng(32);
      writeKeyFile(currentPath, KEY_KINDS.onion, secret);
      this.state = { createdAt: now(), previousRetiredAt: null };
      this.saveState();
    } else {
      this.state = JSON.parse(readFileSync(statePath, 'utf8')) as OnionState;
    }
    const secret = readKeyFile(currentPath, KEY_KINDS.onion, 32);
    this.current = { secret, public: provider.x25519PublicKey(secret) };
    const prevPath = join(this.dir, KEY_FILES.onionPrevious);
    if (existsSync(prevPath)) {
      const prev = readKeyFile(prevPath, KEY_KINDS.onion, 32);
      this.previous = { secret: prev, public: provider.x25519PublicKey(prev) };
    }
    this.rotateIfDue();
  }

  private saveState(): void {
    writeFileAtomic(join(this.dir, KEY_FILES.onionState), JSON.stringify(this.state) + '\n');
  }

  /** The onion key pairs a CREATE2 may name: current first, then the previous one. */
  onionKeys(): NtorOnionKeyPair[] {
    return this.previous ? [this.current, this.previous] : [this.current];
  }

  get onionKey(): Uint8Array {
    return this.current.public;
  }

  /** When the current onion key was made, and when it will be rotated (ms). */
  get onionKeyCreatedAt(): number {
    return this.state.createdAt;
  }

  get onionKeyRotatesAt(): number {
    return this.state.createdAt + this.options.onionKeyRotationMs;
  }

  /**
   * Rotates the onion key if it is due, and forgets the previous one past its grace.
   * Returns true when the current key changed (the descriptor must be republished).
   */
  rotateIfDue(): boolean {
    const { provider, rng, now, onionKeyRotationMs, onionKeyGraceMs } = this.options;
    const t = now();
    let changed = false;
    if (t - this.state.createdAt >= onionKeyRotationMs) {
      writeKeyFile(join(this.dir, KEY_FILES.onionPrevious), KEY_KINDS.onion, this.current.secret);
      this.previous = this.current;
      const secret = rng(32);
      writeKeyFile(join(this.dir, KEY_FILES.onion), KEY_KINDS.onion, secret);
      this.current = { secret, public: provider.x25519PublicKey(secret) };
      this.state = { createdAt: t, previousRetiredAt: t };
      this.saveState();
      changed = true;
    }
    if (this.previous && this.state.previousRetiredAt !== null && t - this.state.previousRetiredAt >= onionKeyGraceMs) {
      this.previous.secret.fill(0);
      this.previous = null;
      rmSync(join(this.dir, KEY_FILES.onionPrevious), { force: true });
      this.state = { ...this.state, previousRetiredAt: null };
      this.saveState();
    }
    return changed;
  }
}

/**
 * A relay's keys on disk: the long-term Ed25519 identity, the X25519 link key (Noise
 * static) and the medium-term X25519 onion key (ntor), with rotation of the onion key on a
 * schedule while the previous one is kept for handshakes in flight.
 *
 * Layout, under `<DataDirectory>/keys/` (directory 0700, files 0600):
 *   identity.key            Ed25519 seed
 *   link.key                X25519 secret
 *   onion.key               X25519 secret, current
 *   onion-previous.key      X25519 secret, the one before (deleted once past its grace)
 *   onion-state.json        { createdAt, previousRetiredAt } (ms)
 *
 * Not the descriptor (relay/descriptor-publisher.ts signs with these keys) and not an
 * offline-identity scheme (a later issue).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import type { NtorOnionKeyPair } from '../src/handshake/ntor.js';
import { ensureDataDir, loadOrCreateKeyFile, readKeyFile, writeFileAtomic, writeKeyFile } from '../src/io/key-files.js';

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

export class RelayKeys {
  readonly identitySeed: Uint8Array;
  readonly identity: Uint8Array;
  readonly linkSecret: Uint8Array;
  readonly linkKey: Uint8Array;
  private current!: NtorOnionKeyPair;
  private previous: NtorOnionKeyPair | null = null;
  private state!: OnionState;
  private readonly dir: string;

  constructor(private readonly options: RelayKeyOptions) {
    const { provider, rng } = options;
    this.dir = ensureDataDir(join(options.dataDir, 'keys'));
    this.identitySeed = loadOrCreateKeyFile(join(this.dir, 'identity.key'), 'ed25519-identity', 32, () => rng(32));
    this.identity = provider.ed25519PublicKey(this.identitySeed);
    this.linkSecret = loadOrCreateKeyFile(join(this.dir, 'link.key'), 'x25519-link', 32, () => rng(32));
    this.linkKey = provider.x25519PublicKey(this.linkSecret);
    this.loadOnionKeys();
  }

  private loadOnionKeys(): void {
    const { provider, rng, now } = this.options;
    const statePath = join(this.dir, 'onion-state.json');
    const currentPath = join(this.dir, 'onion.key');
    if (!existsSync(currentPath) || !existsSync(statePath)) {
      const secret = rng(32);
      writeKeyFile(currentPath, 'x25519-onion', secret);
      this.state = { createdAt: now(), previousRetiredAt: null };
      this.saveState();
    } else {
      this.state = JSON.parse(readFileSync(statePath, 'utf8')) as OnionState;
    }
    const secret = readKeyFile(currentPath, 'x25519-onion', 32);
    this.current = { secret, public: provider.x25519PublicKey(secret) };
    const prevPath = join(this.dir, 'onion-previous.key');
    if (existsSync(prevPath)) {
      const prev = readKeyFile(prevPath, 'x25519-onion', 32);
      this.previous = { secret: prev, public: provider.x25519PublicKey(prev) };
    }
    this.rotateIfDue();
  }

  private saveState(): void {
    writeFileAtomic(join(this.dir, 'onion-state.json'), JSON.stringify(this.state) + '\n');
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
      writeKeyFile(join(this.dir, 'onion-previous.key'), 'x25519-onion', this.current.secret);
      this.previous = this.current;
      const secret = rng(32);
      writeKeyFile(join(this.dir, 'onion.key'), 'x25519-onion', secret);
      this.current = { secret, public: provider.x25519PublicKey(secret) };
      this.state = { createdAt: t, previousRetiredAt: t };
      this.saveState();
      changed = true;
    }
    if (this.previous && this.state.previousRetiredAt !== null && t - this.state.previousRetiredAt >= onionKeyGraceMs) {
      this.previous.secret.fill(0);
      this.previous = null;
      rmSync(join(this.dir, 'onion-previous.key'), { force: true });
      this.state = { ...this.state, previousRetiredAt: null };
      this.saveState();
    }
    return changed;
  }
}

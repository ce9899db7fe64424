/**
 * `chive relay keygen`: makes a relay's keys in its data directory, and keeps the identity
 * key offline if asked.
 *
 * Online identity (no identityKeyFile): creates whatever is missing of keys/identity.key,
 * link.key and the onion key, exactly as the relay would on its first start.
 *
 * Offline identity (identityKeyFile, a path outside the data directory, e.g. on a USB
 * stick): the identity key lives only there. If that file does not exist yet it is made —
 * by MOVING keys/identity.key there when the data directory has one (the relay keeps its
 * name), else as a new identity. Then a fresh Ed25519 signing key is written to
 * keys/signing.key with the identity's cert of it (keys/signing-cert.json) expiring after
 * `signingKeyLifetimeMs`; running the same command again before then renews it. A copy of
 * the same identity left in the data directory is removed (the relay would use it
 * otherwise); another identity there is refused (KEYGEN_REFUSED).
 *
 * Never overwrites a key except the signing key it renews; never prints a secret. Not the
 * command line (relay/command.ts) and not key loading at start (relay/keys.ts).
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import { ChiveError } from '../src/errors.js';
import { signSigningKeyCert } from '../src/dirdoc/index.js';
import { ensureDataDir, loadOrCreateKeyFile, readKeyFile, writeFileAtomic, writeKeyFile } from '../src/io/key-files.js';
import {
  DEFAULT_SIGNING_KEY_LIFETIME_MS, KEY_FILES, KEY_KINDS, RelayKeys, formatSigningCertFile, relayKeysDir,
} from './keys.js';

export interface KeygenOptions {
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  readonly dataDir: string;
  /** Where the identity key is kept, outside the data directory; absent = online identity. */
  readonly identityKeyFile?: string;
  /** How long the signing key is certified for (offline identity; default 30 days). */
  readonly signingKeyLifetimeMs?: number;
  /** Now, ms since the epoch. */
  readonly now: number;
}

export interface KeygenReport {
  readonly identity: Uint8Array;
  readonly offline: boolean;
  /** Where the identity key is (the data directory's identity.key when online). */
  readonly identityFile: string;
  /** Files this run wrote (paths). */
  readonly written: string[];
  /** keys/identity.key was moved to the offline file. */
  readonly movedIdentity: boolean;
  /** The signing key's expiry (ms), or null with an online identity. */
  readonly signingKeyExpires: number | null;
  /** Things the operator should know (a removed online copy, an expired key, …). */
  readonly notes: string[];
}

function refuse(message: string): never {
  throw new ChiveError('KEYGEN_REFUSED', message);
}

/** Makes or renews the relay's keys; see the module comment. */
export function runKeygen(options: KeygenOptions): KeygenReport {
  const { provider, rng, now } = options;
  const dataDir = resolve(options.dataDir);
  const keysDir = ensureDataDir(relayKeysDir(dataDir));
  const path = (name: string): string => join(keysDir, name);
  const written: string[] = [];
  const notes: string[] = [];
  const wrote = (p: string, existed: boolean): void => {
    if (!existed) written.push(p);
  };
  const onlinePath = path(KEY_FILES.identity);
  let offline = false;
  let movedIdentity = false;
  let signingKeyExpires: number | null = null;
  let identityFile = onlinePath;

  if (options.identityKeyFile !== undefined) {
    offline = true;
    identityFile = resolve(options.identityKeyFile);
    const rel = relative(dataDir, identityFile);
    if (!rel.startsWith('..') && !isAbsolute(rel)) {
      refuse(`the offline identity key ${identityFile} would be inside the data directory ${dataDir}; keep it elsewhere (removable or offline storage)`);
    }
    const lifetime = options.signingKeyLifetimeMs ?? DEFAULT_SIGNING_KEY_LIFETIME_MS;
    if (!(lifetime > 0)) refuse('the signing key lifetime must be positive');
    let identitySeed: Uint8Array;
    const onlineExists = existsSync(onlinePath);
    if (!existsSync(identityFile)) {
      ensureDataDir(dirname(identityFile));
      if (onlineExists) {
        identitySeed = readKeyFile(onlinePath, KEY_KINDS.identity, 32);
        writeKeyFile(identityFile, KEY_KINDS.identity, identitySeed);
        rmSync(onlinePath);
        movedIdentity = true;
      } else {
        identitySeed = rng(32);
        writeKeyFile(identityFile, KEY_KINDS.identity, identitySeed);
      }
      written.push(identityFile);
    } else {
      identitySeed = readKeyFile(identityFile, KEY_KINDS.identity, 32);
      if (onlineExists) {
        const online = readKeyFile(onlinePath, KEY_KINDS.identity, 32);
        const same = provider.equal(provider.ed25519PublicKey(online), provider.ed25519PublicKey(identitySeed));
        online.fill(0);
        if (!same) {
          identitySeed.fill(0);
          refuse(`${onlinePath} holds another identity than ${identityFile}; move one of them away first`);
        }
        rmSync(onlinePath);
        notes.push(`removed ${onlinePath}: the same identity key is in ${identityFile}, and the relay would keep using an online copy`);
      }
    }
    const signingSeed = rng(32);
    const cert = signSigningKeyCert(provider, identitySeed, provider.ed25519PublicKey(signingSeed), now + lifetime);
    const identity = provider.ed25519PublicKey(identitySeed);
    identitySeed.fill(0);
    writeKeyFile(path(KEY_FILES.signing), KEY_KINDS.signing, signingSeed);
    signingSeed.fill(0);
    writeFileAtomic(path(KEY_FILES.signingCert), formatSigningCertFile(identity, cert), 0o600);
    written.push(path(KEY_FILES.signing), path(KEY_FILES.signingCert));
    signingKeyExpires = cert.expires;
  } else if (!existsSync(onlinePath) && existsSync(path(KEY_FILES.signing))) {
    offline = true;
    notes.push('the identity key is offline: renew the signing key with --identity-key <your offline identity.key>');
  } else {
    const existed = existsSync(onlinePath);
    loadOrCreateKeyFile(onlinePath, KEY_KINDS.identity, 32, () => rng(32)).fill(0);
    wrote(onlinePath, existed);
  }

  // Link and onion keys, as the relay makes them on its first start (without rotating anything).
  const linkPath = path(KEY_FILES.link);
  const onionPath = path(KEY_FILES.onion);
  const linkExisted = existsSync(linkPath);
  const onionExisted = existsSync(onionPath);
  // (An offline relay's expired signing key stops us here with SIGNING_KEY_EXPIRED and the renewal command.)
  const keys = new RelayKeys({
    provider, rng, dataDir, onionKeyRotationMs: Number.MAX_SAFE_INTEGER, onionKeyGraceMs: Number.MAX_SAFE_INTEGER, now: () => now,
  });
  wrote(linkPath, linkExisted);
  wrote(onionPath, onionExisted);
  if (offline && options.identityKeyFile === undefined) signingKeyExpires = keys.signingKeyExpiresAt;
  return { identity: keys.identity, offline, identityFile, written, movedIdentity, signingKeyExpires, notes };
}

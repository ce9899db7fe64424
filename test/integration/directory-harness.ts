/**
 * Support for the directory integration tests (not a test file): real relays (a link
 * server on 127.0.0.1 holding the link key of a real signed descriptor), authorities on
 * random ports with their network file, and polling helpers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import {
  type DescriptorFields, type RelayDescriptor, encodeDescriptor, parseExitPolicy, signDescriptor,
} from '../../src/dirdoc/index.js';
import type { NetworkConfig, NetworkTiming } from '../../src/io/network-file.js';
import { type LinkServer, startLinkServer } from '../../src/io/link-server.js';
import { type AuthorityHandle, type ListenAuthorityOptions, listenAuthority } from '../../directory/index.js';
import { fromHex } from '../../src/bytes.js';
export { waitFor } from '../support/wait.js';

export const DAY = 24 * 60 * 60 * 1000;

export interface TestRelay {
  readonly seed: Uint8Array;
  readonly onionSecret: Uint8Array;
  readonly linkSecret: Uint8Array;
  readonly descriptor: RelayDescriptor;
  readonly bytes: Uint8Array;
  readonly server: LinkServer | null;
}

/** Fields of relay `index` at `address` (exit on even indices), published now. */
export function relayFields(p: CryptoProvider, index: number, address: string, onionSecret: Uint8Array, linkSecret: Uint8Array, now = Date.now()): DescriptorFields {
  return {
    published: now,
    onionKey: p.x25519PublicKey(onionSecret),
    onionKeyExpires: now + 7 * DAY,
    linkKey: p.x25519PublicKey(linkSecret),
    linkKeyExpires: now + 7 * DAY,
    nickname: `relay${index}`,
    address,
    bandwidth: 500_000 + index,
    exitPolicy: index % 2 === 0 ? parseExitPolicy('accept 127.0.0.1/32:1-65535, reject *:*') : [],
    softwareVersion: 'chive-test',
  };
}

/**
 * A relay with real keys. `mode`: `up` listens with its link key; `down` publishes an
 * address nobody listens on; `wrong-key` listens with another link key than it publishes.
 */
export async function startRelay(p: CryptoProvider, index: number, mode: 'up' | 'down' | 'wrong-key' = 'up'): Promise<TestRelay> {
  const seed = p.randomBytes(32);
  const onionSecret = p.randomBytes(32);
  const linkSecret = p.randomBytes(32);
  const server = await startLinkServer({
    provider: p, rng: (n) => p.randomBytes(n), linkStaticSecret: mode === 'wrong-key' ? p.randomBytes(32) : linkSecret,
    onLink: () => {}, closeGraceMs: 100,
  });
  const address = server.url;
  if (mode === 'down') await server.close();
  const descriptor = signDescriptor(p, seed, relayFields(p, index, address, onionSecret, linkSecret));
  return { seed, onionSecret, linkSecret, descriptor, bytes: encodeDescriptor(descriptor), server: mode === 'down' ? null : server };
}

export interface TestNetwork {
  readonly network: NetworkConfig;
  readonly dataDirs: string[];
  readonly authorities: (AuthorityHandle | null)[];
}

export function tempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `chive-${tag}-`));
}

/**
 * `n` authorities on random ports: listen all, write their network config, start all.
 * `dataDirs` reuses directories (a restart); `only` starts just those indices.
 */
export async function startAuthorities(
  p: CryptoProvider, n: number, timing: NetworkTiming,
  extra: Partial<ListenAuthorityOptions> & { dataDirs?: string[] } = {},
): Promise<TestNetwork> {
  const dataDirs = extra.dataDirs ?? Array.from({ length: n }, () => tempDir('auth'));
  const listening = await Promise.all(dataDirs.map((dataDir) => listenAuthority({ provider: p, dataDir, ...extra })));
  const network: NetworkConfig = {
    testnet: true,
    authorities: listening.map((l, i) => ({ name: `auth${i}`, url: l.url, identity: fromHex(l.identity) })),
    timing,
  };
  const authorities = listening.map((l) => l.start(network));
  return { network, dataDirs, authorities };
}


/** Short periods; noble's pure-JS X25519 (~30× slower than sodium) gets 3 s so that relay tests and vote pulls fit. */
export const timingFor = (p: CryptoProvider) => ({ votingIntervalMs: p.name === 'noble' ? 3000 : 2000, freshIntervals: 1, validIntervals: 3 });

export function removeDirs(dirs: readonly string[]): void {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/** Polls an async probe until it yields a value (errors count as "not yet"). */
export async function eventually<T>(what: string, probe: () => Promise<T | null | undefined>, timeoutMs: number): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await probe().catch(() => null);
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

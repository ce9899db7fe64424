/**
 * The relay's public API: `startRelay` runs a relay's cell engine with its keys from a data
 * directory, for the daemon (`chive relay`), the in-process test network and tests.
 *
 * Not the daemon's configuration, descriptor upload or metrics server (relay/daemon.ts).
 */
import { randomBytes } from 'node:crypto';
import { loadCryptoProvider } from '../src/crypto/load.js';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import { parseExitPolicy, type ExitPolicy } from '../src/dirdoc/index.js';
import { RelayKeys } from './keys.js';
import { RelayNode, type RelayLimits } from './relay-node.js';
import { staticDirectoryView, type ListedRelay, type RelayDirectoryView } from './neighbours.js';

export { RelayNode, DEFAULT_RELAY_LIMITS, type RelayLimits } from './relay-node.js';
export { staticDirectoryView, type ListedRelay, type RelayDirectoryView } from './neighbours.js';
export { RelayKeys } from './keys.js';
export { REFUSAL_REASONS, type RefusalReason } from './counters.js';

export interface StartRelayOptions {
  dataDir: string;
  provider?: CryptoProvider;
  rng?: Rng;
  host?: string;
  /** 0 (default) = a random free port. */
  port?: number;
  /** Exit policy text ("accept 127.0.0.1/32:*, reject *:*") or parsed; absent = not an exit. */
  exitPolicy?: string | ExitPolicy | null;
  /** The consensus view; default: lists nobody and (tests) allows unlisted neighbours. */
  directory?: RelayDirectoryView;
  limits?: Partial<RelayLimits>;
  now?: () => number;
  onionKeyRotationMs?: number;
  onionKeyGraceMs?: number;
  onInternalError?: (e: unknown) => void;
}

export interface RunningRelay {
  readonly node: RelayNode;
  readonly keys: RelayKeys;
  /** What a client or the consensus needs of this relay. */
  readonly info: ListedRelay;
  readonly exitPolicy: ExitPolicy | null;
  /** Replaces the relay's view of the network (after a consensus fetch). */
  setDirectory(view: RelayDirectoryView): void;
  close(): Promise<void>;
}

const DAY_MS = 24 * 3600 * 1000;

export async function startRelay(options: StartRelayOptions): Promise<RunningRelay> {
  const provider = options.provider ?? loadCryptoProvider();
  const rng: Rng = options.rng ?? ((n) => new Uint8Array(randomBytes(n)));
  const now = options.now ?? Date.now;
  const keys = new RelayKeys({
    provider,
    rng,
    dataDir: options.dataDir,
    onionKeyRotationMs: options.onionKeyRotationMs ?? 28 * DAY_MS,
    onionKeyGraceMs: options.onionKeyGraceMs ?? 7 * DAY_MS,
    now,
  });
  const exitPolicy =
    options.exitPolicy === undefined || options.exitPolicy === null
      ? null
      : typeof options.exitPolicy === 'string'
        ? parseExitPolicy(options.exitPolicy)
        : options.exitPolicy;
  const node = new RelayNode({
    provider,
    rng,
    keys,
    host: options.host,
    port: options.port,
    exitPolicy,
    limits: options.limits,
    directory: options.directory ?? staticDirectoryView([], true),
    now,
    onInternalError: options.onInternalError,
  });
  await node.start();
  const info: ListedRelay = { identity: keys.identity, linkKey: keys.linkKey, onionKey: keys.onionKey, url: node.url };
  return {
    node,
    keys,
    info,
    exitPolicy,
    setDirectory: (view) => node.neighbours.setDirectory(view),
    close: () => node.close(),
  };
}

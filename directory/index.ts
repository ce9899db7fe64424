/**
 * The directory authority, public API: run one in-process (tests, the test network) or
 * through `chive directory` (command.ts).
 *
 *   startAuthority({ provider, dataDir, port, host, network })   when the network file is known
 *   listenAuthority({ provider, dataDir, port: 0 })  → { url, identity, start(network) }
 *       when the authorities' URLs are only known once they listen (random ports): listen
 *       all, write the network file with their URLs and identities, then start each one.
 *   authorityIdentity(provider, dataDir)             → hex identity (creates the key if needed)
 *
 * The `chive directory` command is command.ts (runDirectoryCommand). Not exported: the
 * round machinery, the store and the HTTP server internals.
 */
import { ChiveError } from '../src/errors.js';
import { toHex } from '../src/bytes.js';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import type { NetworkConfig } from '../src/io/network-file.js';
import { Authority, type AuthorityStats, type PublishedConsensus } from './authority.js';
import { type LogFn, startDirectoryHttpServer } from './http-api.js';
import type { RelayProbe } from './reachability.js';
import { loadAuthoritySeed } from './store.js';

export type { AuthorityStats, PublishedConsensus } from './authority.js';
export type { LogFn } from './http-api.js';

export interface ListenAuthorityOptions {
  readonly provider: CryptoProvider;
  readonly rng?: Rng;
  /** Holds keys/authority.key and the saved state (created 0700 if missing). */
  readonly dataDir: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Clock (ms); must advance in real time. Default Date.now. */
  readonly now?: () => number;
  readonly log?: LogFn;
  /** Replaces the NK reachability handshake (tests only). */
  readonly probe?: RelayProbe;
}

export interface StartAuthorityOptions extends ListenAuthorityOptions {
  readonly network: NetworkConfig;
}

export interface AuthorityHandle {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** Hex Ed25519 identity. */
  readonly identity: string;
  /** Live counters. */
  readonly stats: AuthorityStats;
  /** The consensus served now (encoded and decoded), or null before the first. */
  latestConsensus(): PublishedConsensus | null;
  /** Relays listed (accepted, not stale). */
  relayCount(): number;
  /** Stops rounds and requests, then the HTTP server; the saved state stays in dataDir. */
  close(): Promise<void>;
}

export interface ListeningAuthority {
  readonly url: string;
  readonly identity: string;
  /** Starts the authority with this network (its identity must be pinned in it). */
  start(network: NetworkConfig): AuthorityHandle;
  /** Stops listening without starting. */
  close(): Promise<void>;
}

/** The hex identity of the authority whose data directory is `dataDir`, creating its key if needed. */
export function authorityIdentity(provider: CryptoProvider, dataDir: string, rng?: Rng): string {
  return toHex(provider.ed25519PublicKey(loadAuthoritySeed(dataDir, rng ?? ((n) => provider.randomBytes(n)))));
}

/** Opens the HTTP API (answering 503 until started) and loads the identity key. */
export async function listenAuthority(options: ListenAuthorityOptions): Promise<ListeningAuthority> {
  const identity = authorityIdentity(options.provider, options.dataDir, options.rng);
  const server = await startDirectoryHttpServer({
    ...(options.host !== undefined ? { host: options.host } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.log ? { log: options.log } : {}),
  });
  let started = false;
  return {
    url: server.url,
    identity,
    close: () => server.close(),
    start(network) {
      if (started) throw new ChiveError('INVALID_ARGUMENT', 'this authority is already started');
      if (!network.authorities.some((a) => toHex(a.identity) === identity)) {
        throw new ChiveError(
          'NETWORK_FILE_INVALID',
          `this authority (identity ${identity}) is not pinned in the network file; add it to "authorities" (chive directory --print-identity)`,
        );
      }
      started = true;
      const authority = new Authority({ ...options, network });
      authority.start();
      server.setApi(authority.api());
      return {
        url: server.url,
        identity,
        stats: authority.stats,
        latestConsensus: () => authority.latestConsensus(),
        relayCount: () => authority.relayCount,
        async close() {
          server.setApi(null);
          await authority.close();
          await server.close();
        },
      };
    },
  };
}

/** Listens and starts at once (the network file names this authority's URL already). */
export async function startAuthority(options: StartAuthorityOptions): Promise<AuthorityHandle> {
  const listening = await listenAuthority(options);
  try {
    return listening.start(options.network);
  } catch (e) {
    await listening.close();
    throw e;
  }
}

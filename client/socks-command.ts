/**
 * `chive socks`: a SOCKS5 proxy into the network, so curl or any TCP program can use it.
 *
 *   chive socks --network FILE --port N [--host 127.0.0.1] [--data-dir DIR] [...]
 *   curl --socks5-hostname 127.0.0.1:N http://127.0.0.1:8080/
 *
 * It loads the network file, creates the client with `createClient` from client/index.ts
 * (which bootstraps: consensus, guards, circuits), starts the SOCKS5 server
 * (client/socks-server.ts) whose streams are `client.openStream(host, port)`, and prints
 * one JSON line on stdout when ready: {"event":"listening","host":"127.0.0.1","port":N}.
 * Logs are JSON lines on stderr. SIGINT / SIGTERM (or `io.signal`) stop the server, then
 * the client. Exit codes: 0 after a clean stop, 1 on an error (printed with its stable
 * code), 2 on bad usage.
 *
 * Not here: the protocol (client/socks.ts), connections (client/socks-server.ts), circuits
 * (the client).
 */
import { LOG_LEVELS, jsonLineLogger, lineWriters, oneOf, parseCommandFlags, parsePort, parsePositive, type CliLogLevel } from '../src/io/cli-flags.js';
import type { Duplex } from 'node:stream';
import { Command } from 'commander';
import type { CryptoProvider } from '../src/crypto/provider.js';
import { type ProviderPreference, loadCryptoProvider } from '../src/crypto/load.js';
import { isChiveError } from '../src/errors.js';
import { type NetworkConfig, loadNetworkFile } from '../src/io/network-file.js';
import {
  DEFAULT_MAX_SOCKS_CONNECTIONS,
  DEFAULT_SOCKS_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_SOCKS_HOST,
  DEFAULT_SOCKS_OPEN_TIMEOUT_MS,
  type SocksLog,
  startSocksServer,
} from './socks-server.js';

/** What the command needs of the client library (client/index.ts). */
export interface SocksClient {
  /** A stream to host:port through a circuit; rejects with a ChiveError (STREAM_REFUSED, …). */
  openStream(host: string, port: number): Promise<Duplex>;
  /** Closes every circuit and link; streams still open fail. */
  close(): Promise<void>;
}

/** What the command passes to `createClient`. */
export interface SocksClientOptions {
  readonly network: NetworkConfig;
  /** Path of the network file the network came from (for messages). */
  readonly networkFile: string;
  /** The client's data directory (guards, cached consensus); undefined: the client's default. */
  readonly dataDir: string | undefined;
  readonly provider: CryptoProvider;
  readonly log: SocksLog;
  /** Bootstrap stages as they complete (consensus, guards, circuit, ready). */
  readonly onProgress: (p: { readonly stage: string; readonly elapsedMs: number }) => void;
}

export type CreateSocksClient = (options: SocksClientOptions) => Promise<SocksClient>;

export interface SocksCommandIo {
  /** Receives stdout lines (default: process.stdout). */
  readonly stdout?: (line: string) => void;
  /** Receives stderr lines (default: process.stderr). */
  readonly stderr?: (line: string) => void;
  /** Stops the command like SIGTERM (for in-process use); signals are handled too. */
  readonly signal?: AbortSignal;
  /** The client factory (default: createClient from client/index.ts), for tests and embedding. */
  readonly createClient?: CreateSocksClient;
}

interface Flags {
  network: string;
  port: number;
  host: string;
  dataDir?: string;
  allowNonLoopback?: boolean;
  maxConnections: number;
  handshakeTimeout: number;
  openTimeout: number;
  logLevel: CliLogLevel;
  crypto: ProviderPreference;
}

const NOT_BUILT = 'the client is not built yet (client/index.ts does not export createClient)';

/** createClient from client/index.ts (loaded only when needed), or null while it does not exist. */
async function importCreateClient(): Promise<CreateSocksClient | null> {
  let mod: typeof import('./index.js');
  try {
    mod = await import('./index.js');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('client/index')) return null;
    throw e;
  }
  // Typed: the typechecker holds client/index.ts's createClient to what this command needs.
  const createClient: CreateSocksClient | undefined = mod.createClient;
  return typeof createClient === 'function' ? createClient : null;
}

/** Runs `chive socks` with `argv` (the arguments after `socks`); resolves with the exit code. */
export async function runSocksCommand(argv: readonly string[], io: SocksCommandIo = {}): Promise<number> {
  const { out, err } = lineWriters(io);
  const program = new Command('socks')
    .description('run a SOCKS5 proxy (RFC 1928: CONNECT, no authentication) whose connections go through chive circuits')
    .requiredOption('--network <file>', 'network file (network.json, as written by chive testnet)')
    .requiredOption('--port <port>', 'TCP port of the SOCKS5 proxy (0: any free port; the JSON line on stdout names it)', parsePort)
    .option('--host <host>', 'interface to listen on; must be a loopback address unless --allow-non-loopback', DEFAULT_SOCKS_HOST)
    .option('--data-dir <dir>', "client data directory (guards, cached consensus) (default: the client's own)")
    .option('--allow-non-loopback', 'allow --host to be a non-loopback address: anyone who can reach it can use your circuits')
    .option('--max-connections <n>', 'SOCKS connections served at once; more are closed', parsePositive, DEFAULT_MAX_SOCKS_CONNECTIONS)
    .option('--handshake-timeout <ms>', 'time a program has for its SOCKS greeting and request', parsePositive, DEFAULT_SOCKS_HANDSHAKE_TIMEOUT_MS)
    .option('--open-timeout <ms>', 'time a stream may take to open before the program gets TTL expired', parsePositive, DEFAULT_SOCKS_OPEN_TIMEOUT_MS)
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, oneOf(LOG_LEVELS), 'info')
    .option('--crypto <provider>', 'crypto provider: auto, sodium or noble', oneOf<ProviderPreference>(['auto', 'sodium', 'noble']), 'auto')
    .addHelpText('after', '\nOn start it prints {"event":"listening","host":…,"port":…} on stdout; logs are JSON lines on stderr.\n'
      + 'Example: curl --socks5-hostname 127.0.0.1:<port> http://127.0.0.1:8080/')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });
  const parsed = parseCommandFlags<Flags>(program, argv);
  if ('exitCode' in parsed) return parsed.exitCode;
  const flags = parsed.flags;
  const log = jsonLineLogger(flags.logLevel, err);
  let client: SocksClient | null = null;
  try {
    const createClient = io.createClient ?? (await importCreateClient());
    if (createClient === null) {
      err(`chive socks: ${NOT_BUILT}`);
      return 1;
    }
    const provider = loadCryptoProvider(flags.crypto, (line) => log('warn', line));
    const network = loadNetworkFile(flags.network);
    const onProgress = (p: { stage: string; elapsedMs: number }): void => log('info', `bootstrap: ${p.stage}`, { elapsedMs: Math.round(p.elapsedMs) });
    client = await createClient({ network, networkFile: flags.network, dataDir: flags.dataDir, provider, log, onProgress });
    const socksClient = client;
    const server = await startSocksServer({
      openStream: (host, port) => socksClient.openStream(host, port),
      host: flags.host,
      port: flags.port,
      allowNonLoopback: flags.allowNonLoopback === true,
      maxConnections: flags.maxConnections,
      handshakeTimeoutMs: flags.handshakeTimeout,
      openTimeoutMs: flags.openTimeout,
      log,
    });
    out(JSON.stringify({ event: 'listening', host: server.host, port: server.port }));
    await untilStopped(io.signal);
    log('info', 'stopping', { counters: server.counters() });
    await server.close();
    await client.close();
    client = null;
    log('info', 'stopped');
    return 0;
  } catch (e) {
    err(`chive socks: ${e instanceof Error ? e.message : String(e)}${isChiveError(e) ? ` (${e.code})` : ''}`);
    await client?.close().catch(() => {});
    return 1;
  }
}

function untilStopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted) stop();
  });
}

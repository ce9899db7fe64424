/**
 * `chive directory`: runs one directory authority until SIGINT / SIGTERM.
 *
 *   chive directory --data-dir DIR --network FILE [--port N] [--host H] [--log-level L] [--crypto P]
 *   chive directory --data-dir DIR --print-identity
 *
 * When ready it prints one JSON line on stdout,
 *     {"event":"listening","url":"http://127.0.0.1:7001","identity":"<64 hex>"}
 * (the testnet launcher waits for it) and logs JSON lines on stderr
 * ({"time","level","msg",...}). `--print-identity` prints the hex identity (creating the
 * key if needed) and exits, so that a launcher can write the network file first.
 * Exit codes: 0 after a clean stop, 1 on an error (printed with its stable code), 2 on
 * bad usage.
 *
 * Not here: the authority itself (index.ts), the `chive` dispatcher (bin/).
 */
import { LOG_LEVELS, jsonLineLogger, lineWriters, oneOf, parseCommandFlags, parsePort, type CliLogLevel } from '../src/io/cli-flags.js';
import { Command } from 'commander';
import { isChiveError } from '../src/errors.js';
import { type ProviderPreference, loadCryptoProvider } from '../src/crypto/load.js';
import { loadNetworkFile } from '../src/io/network-file.js';
import type { LogFn } from './http-api.js';
import { authorityIdentity, startAuthority } from './index.js';

export interface DirectoryCommandIo {
  /** Receives stdout lines (default: process.stdout). */
  readonly stdout?: (line: string) => void;
  /** Receives stderr lines (default: process.stderr). */
  readonly stderr?: (line: string) => void;
  /** Stops the authority like SIGTERM (for in-process use); signals are handled too. */
  readonly signal?: AbortSignal;
}

interface Flags {
  dataDir: string;
  network?: string;
  port: number;
  host: string;
  printIdentity?: boolean;
  logLevel: CliLogLevel;
  crypto: ProviderPreference;
}

/** Runs `chive directory` with `argv` (the arguments after `directory`); resolves with the exit code. */
export async function runDirectoryCommand(argv: readonly string[], io: DirectoryCommandIo = {}): Promise<number> {
  const { out, err } = lineWriters(io);
  const program = new Command('directory')
    .description('run a chive directory authority')
    .requiredOption('--data-dir <dir>', 'data directory (identity key, accepted descriptors, last consensus)')
    .option('--network <file>', 'network file (network.json) pinning the authorities')
    .option('--port <port>', 'HTTP port (0: any free port)', parsePort, 0)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--print-identity', 'print the hex identity (creating the key if needed) and exit')
    .option('--log-level <level>', `one of ${LOG_LEVELS.join(', ')}`, oneOf(LOG_LEVELS), 'info')
    .option('--crypto <provider>', 'crypto provider: auto, sodium or noble', oneOf<ProviderPreference>(['auto', 'sodium', 'noble']), 'auto')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });
  const parsed = parseCommandFlags<Flags>(program, argv);
  if ('exitCode' in parsed) return parsed.exitCode;
  const flags = parsed.flags;
  const log = jsonLineLogger(flags.logLevel, err);
  try {
    const provider = loadCryptoProvider(flags.crypto, (line) => log('warn', line));
    if (flags.printIdentity) {
      out(authorityIdentity(provider, flags.dataDir));
      return 0;
    }
    if (!flags.network) {
      err('chive directory: --network <file> is required (or --print-identity)');
      return 2;
    }
    const network = loadNetworkFile(flags.network);
    const authority = await startAuthority({ provider, dataDir: flags.dataDir, port: flags.port, host: flags.host, network, log });
    out(JSON.stringify({ event: 'listening', url: authority.url, identity: authority.identity }));
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        io.signal?.removeEventListener('abort', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      io.signal?.addEventListener('abort', stop, { once: true });
      if (io.signal?.aborted) stop();
    });
    log('info', 'stopping');
    await authority.close();
    log('info', 'stopped');
    return 0;
  } catch (e) {
    err(`chive directory: ${e instanceof Error ? e.message : String(e)}${isChiveError(e) ? ` (${e.code})` : ''}`);
    return 1;
  }
}

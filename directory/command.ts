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
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { isChiveError } from '../src/errors.js';
import { type ProviderPreference, loadCryptoProvider } from '../src/crypto/load.js';
import { loadNetworkFile } from '../src/io/network-file.js';
import type { LogFn } from './http-api.js';
import { authorityIdentity, startAuthority } from './index.js';

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
type LogLevel = (typeof LEVELS)[number];

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
  logLevel: LogLevel;
  crypto: ProviderPreference;
}

function parsePort(text: string): number {
  const n = Number(text);
  if (!/^[0-9]{1,5}$/.test(text) || n > 65535) throw new InvalidArgumentError('a port is 0..65535 (0: any free port)');
  return n;
}

function oneOf<T extends string>(values: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(values as readonly string[]).includes(text)) throw new InvalidArgumentError(`one of ${values.join(', ')}`);
    return text as T;
  };
}

/** A JSON-lines logger on `write`, dropping levels below `level`. */
export function jsonLineLogger(level: LogLevel, write: (line: string) => void): LogFn {
  const min = LEVELS.indexOf(level);
  return (lvl, msg, fields) => {
    if (LEVELS.indexOf(lvl) < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }));
  };
}

/** Runs `chive directory` with `argv` (the arguments after `directory`); resolves with the exit code. */
export async function runDirectoryCommand(argv: readonly string[], io: DirectoryCommandIo = {}): Promise<number> {
  const out = io.stdout ?? ((line: string) => void process.stdout.write(line + '\n'));
  const err = io.stderr ?? ((line: string) => void process.stderr.write(line + '\n'));
  const program = new Command('directory')
    .description('run a chive directory authority')
    .requiredOption('--data-dir <dir>', 'data directory (identity key, accepted descriptors, last consensus)')
    .option('--network <file>', 'network file (network.json) pinning the authorities')
    .option('--port <port>', 'HTTP port (0: any free port)', parsePort, 0)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--print-identity', 'print the hex identity (creating the key if needed) and exit')
    .option('--log-level <level>', `one of ${LEVELS.join(', ')}`, oneOf(LEVELS), 'info')
    .option('--crypto <provider>', 'crypto provider: auto, sodium or noble', oneOf<ProviderPreference>(['auto', 'sodium', 'noble']), 'auto')
    .exitOverride()
    .configureOutput({ writeOut: (s) => out(s.trimEnd()), writeErr: (s) => err(s.trimEnd()) });
  let flags: Flags;
  try {
    program.parse([...argv], { from: 'user' });
    flags = program.opts<Flags>();
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
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

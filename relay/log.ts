/**
 * Structured logs for the relay (and any other long-running role): pino JSON lines on
 * stderr or appended to a file, written asynchronously and flushed by `close()`.
 *
 * The rule: no client addresses, no payloads, no secrets in logs. A relay operator's log
 * must not become a record of who used the relay or what they sent. Code should simply
 * not log such values; as a second line of defence every field whose name is in
 * `REDACTED_FIELDS` (address, ip, host, payload, body, text, key, secret, …) is replaced
 * by "[redacted]" at the top level and two levels down (`{ peer: { conn: { ip } } }`),
 * in log calls and in child-logger bindings alike. Name fields to fit the rule: log
 * `{ circId }` or `{ peerKind: 'client' }`, never `{ remoteAddress }`. The message string
 * itself is not inspected: never interpolate such values into it.
 *
 * Not here: log rotation (use logrotate with copytruncate, or the journal) and the
 * monitor's log tail (relay/monitor/ reads the file).
 */
import { openSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { ChiveError } from '../src/errors.js';

export type LoggerLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Field names censored wherever they appear (to two levels of nesting). */
export const REDACTED_FIELDS: readonly string[] = [
  'address', 'addr', 'ip', 'host', 'hostname', 'remoteAddress', 'remoteAddr', 'remoteIp', 'clientAddress',
  'target', 'destination', 'headers',
  'payload', 'body', 'messageBody', 'text', 'data', 'cell', 'plaintext',
  'secret', 'secretKey', 'privateKey', 'key', 'seed', 'password', 'token', 'cookie',
];

export const REDACTED = '[redacted]';

/** Longest close() waits for stderr to take the buffered lines. */
const STDERR_FLUSH_TIMEOUT_MS = 5000;

/** pino redact paths for REDACTED_FIELDS at depth 0, 1 and 2. */
export const REDACT_PATHS: readonly string[] = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

export interface CreateLoggerOptions {
  level: LoggerLevel;
  /** Append to this file (created mode 0600); default: stderr. */
  file?: string;
  /** The `name` field of every line, e.g. "relay" or the nickname. */
  name: string;
}

export type RelayLogger = Logger & {
  /** Flushes what is buffered and closes the file (not stderr). Later log calls are dropped. Idempotent. */
  close(): Promise<void>;
};

/** A pino logger with the redaction rules; JSON lines with ISO time, level (as a word), name, pid, msg. */
export function createLogger(options: CreateLoggerOptions): RelayLogger {
  let fd = 2;
  if (options.file !== undefined) {
    try {
      fd = openSync(options.file, 'a', 0o600);
    } catch (e) {
      throw new ChiveError('CONFIG_INVALID', `cannot open LogFile ${options.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, { cause: e });
    }
  }
  const toFile = options.file !== undefined;
  const dest = pino.destination({ dest: fd, sync: false });
  let writeErrorReported = false;
  dest.on('error', (e: Error) => {
    // A full disk or a closed stderr must not bring the relay down: report once, keep going.
    if (!writeErrorReported) process.emitWarning(`log write failed: ${e.message}`);
    writeErrorReported = true;
  });
  // Bytes handed to the destination and not yet written: close() waits for them on stderr.
  let pendingBytes = 0;
  dest.on('write', (n: number) => {
    pendingBytes -= n;
  });
  let closed = false;
  const guarded = {
    write(chunk: string): void {
      if (closed) return;
      pendingBytes += Buffer.byteLength(chunk);
      dest.write(chunk);
    },
  };
  const logger = pino(
    {
      name: options.name,
      level: options.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    },
    guarded,
  );
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      closed = true;
      logger.level = 'silent';
      if (toFile) {
        dest.once('close', () => resolve());
        dest.end();
      } else if (pendingBytes <= 0) {
        resolve();
      } else {
        // stderr stays open: wait until the writes in flight and the buffer are written
        // (a stalled reader must not hold shutdown forever).
        const timer = setTimeout(resolve, STDERR_FLUSH_TIMEOUT_MS);
        timer.unref();
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        dest.once('drain', done);
        dest.once('error', done);
      }
    });
    return closing;
  };
  return Object.assign(logger, { close }) as RelayLogger;
}

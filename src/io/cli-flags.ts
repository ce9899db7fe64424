/**
 * Flag helpers shared by the `chive` commands built on commander: value parsers with clear
 * messages, the JSON-lines logger the commands write to stderr, and one way to parse argv
 * that turns --help and usage errors into exit codes (0 and 2) instead of process exits.
 *
 * Not a command of its own, and not the relay's torrc-style flags (relay/config.ts).
 */
import { type Command, CommanderError, InvalidArgumentError } from 'commander';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type CliLogLevel = (typeof LOG_LEVELS)[number];
export type JsonLineLog = (level: Exclude<CliLogLevel, 'silent'>, message: string, fields?: Record<string, unknown>) => void;

export function parsePort(text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) throw new InvalidArgumentError('a port is 0..65535 (0: any free port)');
  return Number(text);
}

export function parsePositive(text: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(text)) throw new InvalidArgumentError('a positive integer');
  return Number(text);
}

export function oneOf<T extends string>(values: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(values as readonly string[]).includes(text)) throw new InvalidArgumentError(`one of ${values.join(', ')}`);
    return text as T;
  };
}

/** A JSON-lines logger on `write`, dropping levels below `level`. */
export function jsonLineLogger(level: CliLogLevel, write: (line: string) => void): JsonLineLog {
  const min = LOG_LEVELS.indexOf(level);
  return (lvl, msg, fields) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }));
  };
}

/**
 * Parses `argv` with `program` (which must have exitOverride()): the flags, or the exit
 * code to return — 0 after --help / --version, 2 after a usage error (commander printed it).
 */
export function parseCommandFlags<F>(program: Command, argv: readonly string[]): { flags: F } | { exitCode: number } {
  try {
    program.parse([...argv], { from: 'user' });
    return { flags: program.opts<F & Record<string, unknown>>() as F };
  } catch (e) {
    if (e instanceof CommanderError) return { exitCode: e.exitCode === 0 ? 0 : 2 };
    throw e;
  }
}

/** Where a command writes its lines: the caller's sinks (tests, embedding) or stdout / stderr. */
export function lineWriters(io: { readonly stdout?: (line: string) => void; readonly stderr?: (line: string) => void }): {
  out: (line: string) => void;
  err: (line: string) => void;
} {
  return {
    out: io.stdout ?? ((line: string) => void process.stdout.write(line + '\n')),
    err: io.stderr ?? ((line: string) => void process.stderr.write(line + '\n')),
  };
}

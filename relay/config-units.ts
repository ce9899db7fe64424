/**
 * Quantities with units in the relay configuration: byte counts ("1.5 MB", "512 KB",
 * "10 MBytes", "0") and durations ("90 s", "7 days", "500 ms").
 *
 * Byte units are powers of 1024, as in torrc: KB = KBytes = KiB = 1024 bytes, MB = 2^20,
 * GB = 2^30, TB = 2^40; a bare number is bytes. Durations always need a unit (a bare
 * "30" is refused: seconds? minutes?): ms, s, min (or m), h, days, weeks, with the usual
 * spellings. Units are case-insensitive; a space between number and unit is optional;
 * fractions are allowed and rounded to the nearest byte or millisecond.
 *
 * Failures are ChiveError CONFIG_INVALID whose message says what was wrong and what is
 * accepted; the caller (relay/config.ts) prefixes the file and line. This module is only
 * the arithmetic and the spellings: no key knows its own limits here.
 */
import { ChiveError } from '../src/errors.js';

const KIB = 1024;

const BYTE_UNITS: ReadonlyMap<string, number> = unitTable([
  [1, ['', 'b', 'byte', 'bytes']],
  [KIB, ['k', 'kb', 'kib', 'kbyte', 'kbytes', 'kilobyte', 'kilobytes']],
  [KIB ** 2, ['m', 'mb', 'mib', 'mbyte', 'mbytes', 'megabyte', 'megabytes']],
  [KIB ** 3, ['g', 'gb', 'gib', 'gbyte', 'gbytes', 'gigabyte', 'gigabytes']],
  [KIB ** 4, ['t', 'tb', 'tib', 'tbyte', 'tbytes', 'terabyte', 'terabytes']],
]);

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const DURATION_UNITS: ReadonlyMap<string, number> = unitTable([
  [1, ['ms', 'msec', 'msecs', 'millisecond', 'milliseconds']],
  [SECOND, ['s', 'sec', 'secs', 'second', 'seconds']],
  [MINUTE, ['m', 'min', 'mins', 'minute', 'minutes']],
  [HOUR, ['h', 'hr', 'hrs', 'hour', 'hours']],
  [DAY, ['d', 'day', 'days']],
  [WEEK, ['w', 'week', 'weeks']],
]);

/** The longest duration a key may hold: 24 days, below where Node timers overflow (2^31 − 1 ms ≈ 24.8 days). */
export const MAX_DURATION_MS = 24 * 24 * 60 * 60 * 1000;

function unitTable(rows: readonly (readonly [number, readonly string[]])[]): Map<string, number> {
  const table = new Map<string, number>();
  for (const [factor, names] of rows) for (const name of names) table.set(name, factor);
  return table;
}

function invalid(message: string): never {
  throw new ChiveError('CONFIG_INVALID', message);
}

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$/;

function parseQuantity(text: string, units: ReadonlyMap<string, number>, what: string, accepted: string): number {
  const m = QUANTITY.exec(text.trim());
  if (!m) invalid(`${JSON.stringify(text)} is not ${what} (a non-negative number and a unit: ${accepted})`);
  const factor = units.get(m[2]!.toLowerCase());
  if (factor === undefined) invalid(`${JSON.stringify(text)}: unknown unit "${m[2]}" for ${what} (accepted: ${accepted})`);
  const value = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(value)) invalid(`${JSON.stringify(text)} is too large for ${what}`);
  return value;
}

/** Bytes from "1.5 MB", "512 KB", "10 MBytes", "4096" or "0" (units are powers of 1024). */
export function parseBytes(text: string): number {
  return parseQuantity(text, BYTE_UNITS, 'a byte count', 'bytes, KB, MB, GB, TB; 1 KB = 1024 bytes');
}

/** Milliseconds from "90 s", "7 days", "500 ms", "1.5 h"; a unit is required. */
export function parseDuration(text: string): number {
  const m = QUANTITY.exec(text.trim());
  if (m && m[2] === '') invalid(`${JSON.stringify(text)} needs a unit, e.g. "${m[1]} s" (accepted: ms, s, min, h, days, weeks)`);
  return parseQuantity(text, DURATION_UNITS, 'a duration', 'ms, s, min, h, days, weeks');
}

/** The shortest exact text for a byte count: "64 MB", "512 KB", "1000 bytes", "0". */
export function formatBytes(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [unit, factor] of [['TB', KIB ** 4], ['GB', KIB ** 3], ['MB', KIB ** 2], ['KB', KIB]] as const) {
    if (bytes % factor === 0) return `${bytes / factor} ${unit}`;
  }
  return `${bytes} bytes`;
}

/** The shortest exact text for a duration: "7 days", "1 hour", "30 minutes", "30 s", "250 ms". */
export function formatDuration(ms: number): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (ms !== 0 && ms % DAY === 0) return plural(ms / DAY, 'day');
  if (ms !== 0 && ms % HOUR === 0) return plural(ms / HOUR, 'hour');
  if (ms !== 0 && ms % MINUTE === 0) return plural(ms / MINUTE, 'minute');
  if (ms !== 0 && ms % SECOND === 0) return `${ms / SECOND} s`;
  return `${ms} ms`;
}

/** A rounded duration for people, two units at most: "6 days 4 h", "3 h 12 min", "4 min 5 s", "45 s", "0 s". */
export function formatApproxDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / SECOND));
  const days = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const min = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (days > 0) return h > 0 ? `${days} day${days === 1 ? '' : 's'} ${h} h` : `${days} day${days === 1 ? '' : 's'}`;
  if (h > 0) return min > 0 ? `${h} h ${min} min` : `${h} h`;
  if (min > 0) return sec > 0 ? `${min} min ${sec} s` : `${min} min`;
  return `${sec} s`;
}

/**
 * The log tail: the last lines of the relay's LogFile (JSON lines from pino, relay/log.ts)
 * turned into short readable lines — "12:04:05 WARN  msg  key=value …" — with control
 * characters removed (a log line must not drive the operator's terminal). Lines that are
 * not JSON are shown as they are, cleaned.
 *
 * `formatLogLine` is pure; `readLogTail` reads at most the last 64 KiB of the file. Not the
 * logger and not log rotation.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { type Line, clean, seg, type Style } from './format.js';

const TAIL_BYTES = 64 * 1024;
/** Fields every line has, not repeated after the message. */
const SKIPPED = new Set(['level', 'time', 'pid', 'name', 'msg', 'hostname', 'v']);
const LEVEL_STYLE: Readonly<Record<string, Style>> = { warn: 'yellow', error: 'red', fatal: 'red', debug: 'dim', trace: 'dim' };

export function formatLogLine(text: string): Line {
  let v: Record<string, unknown>;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    v = parsed as Record<string, unknown>;
  } catch {
    return [seg(clean(text))];
  }
  const level = typeof v.level === 'string' ? v.level : typeof v.level === 'number' ? String(v.level) : '?';
  const time = typeof v.time === 'string' ? v.time.slice(11, 19) : typeof v.time === 'number' ? new Date(v.time).toISOString().slice(11, 19) : '--:--:--';
  const fields = Object.entries(v)
    .filter(([k]) => !SKIPPED.has(k))
    .map(([k, val]) => `${k}=${typeof val === 'string' ? val : JSON.stringify(val)}`)
    .join(' ');
  const msg = typeof v.msg === 'string' ? v.msg : '';
  return [
    seg(`${time} `, 'dim'),
    seg(level.toUpperCase().padEnd(5), LEVEL_STYLE[level]),
    seg(` ${clean(msg)}`),
    ...(fields ? [seg(`  ${clean(fields)}`, 'dim')] : []),
  ];
}

/** The last `count` lines of `path` (at most the last 64 KiB), or an error text. */
export function readLogTail(path: string, count: number): { lines: string[] } | { error: string } {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    return { error: `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, size - length);
    const lines = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    if (length < size) lines.shift(); // probably cut
    return { lines: lines.slice(-count) };
  } finally {
    closeSync(fd);
  }
}

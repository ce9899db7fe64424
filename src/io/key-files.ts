/**
 * Key files and data directories on disk, shared by every role.
 *
 * A key file holds one secret as text: `chive-key-v1 <kind>\n<base64>\n`, mode 0600, written
 * atomically (temp file with mode 0600, fsync, rename), in a data directory of mode 0700.
 * Loading refuses a file that group or others can read (KEY_FILE_PERMISSIONS), a wrong kind,
 * or a wrong length (KEY_FILE_CORRUPT), with the path in the message (never the key).
 *
 * Not a key store with passwords or an HSM: chive keeps keys where the role's data
 * directory says, and the operator protects the directory.
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ChiveError } from '../errors.js';

const MAGIC = 'chive-key-v1';
const MAX_KEY_FILE_LEN = 4096;

/** Creates `dir` (and parents) with mode 0700 if missing; returns it. */
export function ensureDataDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Writes `data` to `path` atomically with `mode` (default 0600). */
export function writeFileAtomic(path: string, data: Uint8Array | string, mode = 0o600): void {
  ensureDataDir(dirname(path));
  const tmp = join(dirname(path), `.${Date.now().toString(36)}-${process.pid}.tmp`);
  const fd = openSync(tmp, 'w', mode);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function writeKeyFile(path: string, kind: string, secret: Uint8Array): void {
  writeFileAtomic(path, `${MAGIC} ${kind}\n${Buffer.from(secret).toString('base64')}\n`, 0o600);
}

/** Reads a key file of `kind` and `length` bytes, refusing loose permissions. */
export function readKeyFile(path: string, kind: string, length: number): Uint8Array {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) {
    throw new ChiveError(
      'KEY_FILE_PERMISSIONS',
      `key file ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ${path}`,
    );
  }
  if (st.size > MAX_KEY_FILE_LEN) throw new ChiveError('KEY_FILE_CORRUPT', `key file ${path} is too large`);
  const text = readFileSync(path, 'utf8');
  const [header, body] = text.split('\n');
  if (header !== `${MAGIC} ${kind}` || body === undefined) {
    throw new ChiveError('KEY_FILE_CORRUPT', `key file ${path} is not a chive ${kind} key`);
  }
  const secret = new Uint8Array(Buffer.from(body.trim(), 'base64'));
  if (secret.length !== length) {
    throw new ChiveError('KEY_FILE_CORRUPT', `key file ${path} holds ${secret.length} bytes, expected ${length}`);
  }
  return secret;
}

/** Loads the key at `path`, or creates it with `generate()` if the file does not exist. */
export function loadOrCreateKeyFile(path: string, kind: string, length: number, generate: () => Uint8Array): Uint8Array {
  if (existsSync(path)) return readKeyFile(path, kind, length);
  const secret = generate();
  if (secret.length !== length) throw new ChiveError('INVALID_ARGUMENT', `generated ${kind} key has the wrong length`);
  writeKeyFile(path, kind, secret);
  return secret;
}

import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadOrCreateKeyFile, readKeyFile, writeKeyFile } from '../../src/io/key-files.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'chive-keys-'));

describe('key files', () => {
  it('creates a key with mode 0600 in a 0700 directory and loads the same key back', () => {
    const dir = join(tmp(), 'data');
    const path = join(dir, 'keys', 'identity.key');
    const made = loadOrCreateKeyFile(path, 'ed25519-identity', 32, () => new Uint8Array(randomBytes(32)));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'keys')).mode & 0o777).toBe(0o700);
    const again = loadOrCreateKeyFile(path, 'ed25519-identity', 32, () => {
      throw new Error('must not regenerate');
    });
    expect(again).toEqual(made);
  });

  it('refuses a key file that others can read, naming the fix', () => {
    const path = join(tmp(), 'k.key');
    writeKeyFile(path, 'x', new Uint8Array(32));
    chmodSync(path, 0o644);
    expect(() => readKeyFile(path, 'x', 32)).toThrowError(
      expect.objectContaining({ code: 'KEY_FILE_PERMISSIONS', message: expect.stringContaining('chmod 600') }),
    );
  });

  it('refuses a wrong kind, a wrong length and garbage', () => {
    const dir = tmp();
    const path = join(dir, 'k.key');
    writeKeyFile(path, 'onion', new Uint8Array(32));
    expect(() => readKeyFile(path, 'identity', 32)).toThrowError(expect.objectContaining({ code: 'KEY_FILE_CORRUPT' }));
    expect(() => readKeyFile(path, 'onion', 64)).toThrowError(expect.objectContaining({ code: 'KEY_FILE_CORRUPT' }));
    const junk = join(dir, 'junk.key');
    writeFileSync(junk, 'hello', { mode: 0o600 });
    expect(() => readKeyFile(junk, 'onion', 32)).toThrowError(expect.objectContaining({ code: 'KEY_FILE_CORRUPT' }));
  });
});

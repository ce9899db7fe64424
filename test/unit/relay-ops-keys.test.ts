/**
 * Relay keys and the offline identity, with both crypto providers:
 *   - format-2 descriptors (src/dirdoc): signed by a signing key the identity certified;
 *     encode → decode → same bytes; checkDescriptor accepts them and refuses a signing key
 *     the identity did not certify (BAD_CERT), a signature by the identity instead
 *     (BAD_SIGNATURE), an expired signing key (CERT_EXPIRED); format 1 is unchanged;
 *   - `chive relay keygen` (relay/keygen.ts): an online identity as the relay makes it; an
 *     offline identity made from scratch; an existing identity moved offline (the relay
 *     keeps its name); renewal (a later expiry, picked up by a running relay); refusals
 *     (identity file inside the data directory, another identity in the way);
 *   - RelayKeys: key files of relays made before the signing key load as before and sign
 *     format 1; an offline relay signs format 2 with certs no longer than its signing key;
 *     an expired signing key stops the start (SIGNING_KEY_EXPIRED with the command to
 *     renew); a tampered cert file is KEY_FILE_CORRUPT; the keygen command's output.
 */
import { afterAll, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allCryptoProviders } from '../../src/crypto/load.js';
import { toHex } from '../../src/bytes.js';
import { isChiveError } from '../../src/errors.js';
import {
  checkDescriptor, decodeDescriptor, encodeDescriptor, signDescriptor, signDescriptorWithSigningKey, signSigningKeyCert,
} from '../../src/dirdoc/index.js';
import { DESCRIPTOR_FORMAT_VERSION, DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY } from '../../src/wire/constants.js';
import { RelayKeys } from '../../relay/keys.js';
import { runKeygen } from '../../relay/keygen.js';
import { runRelayCommand } from '../../relay/command.js';
import { DAY, NOW, relayFields, seed } from './dirdoc-fixtures.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'chive-keys-'));
  dirs.push(d);
  return d;
}
function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return isChiveError(e) ? e.code : `not a ChiveError: ${String(e)}`;
  }
  return 'no error';
}
const rngFrom = (p: { randomBytes(n: number): Uint8Array }) => (n: number) => p.randomBytes(n);

describe.each(allCryptoProviders())('format-2 descriptors ($name)', (p) => {
  const identitySeed = seed(1, 1);
  const identity = p.ed25519PublicKey(identitySeed);
  const signingSeed = seed(9, 1);
  const cert = signSigningKeyCert(p, identitySeed, p.ed25519PublicKey(signingSeed), NOW + 10 * DAY);
  const signed = () => signDescriptorWithSigningKey(p, { identity, signingSeed, cert }, relayFields(p, 1));

  it('round-trips and checks; format 1 stays format 1', () => {
    const d = signed();
    const bytes = encodeDescriptor(d);
    expect(bytes[0]).toBe(DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY);
    expect(encodeDescriptor(decodeDescriptor(bytes))).toEqual(bytes);
    const checked = checkDescriptor(p, decodeDescriptor(bytes), NOW);
    expect(toHex(checked.identity)).toBe(toHex(identity));
    expect(toHex(checked.signingKey!.key)).toBe(toHex(cert.key));
    const v1 = encodeDescriptor(signDescriptor(p, identitySeed, relayFields(p, 1)));
    expect(v1[0]).toBe(DESCRIPTOR_FORMAT_VERSION);
    expect(v1.length + 32 + 8 + 64).toBe(bytes.length); // the signing key, its expiry and its cert
    expect(decodeDescriptor(v1).signingKey).toBeUndefined();
  });

  it('refuses a signing key the identity did not certify, a signature by the identity, an expired signing key', () => {
    const stranger = signSigningKeyCert(p, seed(7, 7), cert.key, cert.expires);
    expect(codeOf(() => checkDescriptor(p, { ...signed(), signingKey: stranger }, NOW))).toBe('BAD_CERT');
    const byIdentity = signDescriptor(p, identitySeed, relayFields(p, 1));
    expect(codeOf(() => checkDescriptor(p, { ...byIdentity, signingKey: cert }, NOW))).toBe('BAD_SIGNATURE');
    expect(codeOf(() => checkDescriptor(p, decodeDescriptor(encodeDescriptor(signed())), NOW + 10 * DAY))).toBe('CERT_EXPIRED');
    const tampered = encodeDescriptor(signed());
    tampered[1 + 32 + 3]! ^= 1; // a bit of the signing key
    expect(codeOf(() => checkDescriptor(p, decodeDescriptor(tampered), NOW))).toBe('BAD_CERT');
    expect(codeOf(() => signDescriptorWithSigningKey(p, { identity, signingSeed: seed(8, 8), cert }, relayFields(p, 1)))).toBe('INVALID_ARGUMENT');
  });
});

describe('format-2 descriptors across providers', () => {
  it('every provider makes the same bytes from the same seeds (Ed25519 is deterministic)', () => {
    const encodings = allCryptoProviders().map((p) => {
      const identitySeed = seed(1, 3);
      const signingSeed = seed(9, 3);
      const cert = signSigningKeyCert(p, identitySeed, p.ed25519PublicKey(signingSeed), NOW + 10 * DAY);
      return toHex(encodeDescriptor(signDescriptorWithSigningKey(p, { identity: p.ed25519PublicKey(identitySeed), signingSeed, cert }, relayFields(p, 3))));
    });
    expect(encodings.length).toBeGreaterThanOrEqual(2);
    expect(new Set(encodings).size).toBe(1);
  });
});

describe.each(allCryptoProviders())('chive relay keygen and RelayKeys ($name)', (p) => {
  const rng = rngFrom(p);
  const keysOf = (dataDir: string, now = NOW) =>
    new RelayKeys({ provider: p, rng, dataDir, onionKeyRotationMs: 7 * DAY, onionKeyGraceMs: DAY, now: () => now });
  const fields = (keys: RelayKeys) => ({ ...relayFields(p, 2), onionKey: keys.onionKey, linkKey: keys.linkKey, published: NOW });

  it('online identity: makes what is missing, as the relay would, and signs format 1', () => {
    const dir = tempDir();
    const first = runKeygen({ provider: p, rng, dataDir: dir, now: NOW });
    expect(first.offline).toBe(false);
    expect(first.written.map((f) => f.split('/').pop())).toEqual(['identity.key', 'link.key', 'onion.key']);
    for (const f of ['identity.key', 'link.key', 'onion.key']) expect(statSync(join(dir, 'keys', f)).mode & 0o777).toBe(0o600);
    expect(runKeygen({ provider: p, rng, dataDir: dir, now: NOW }).written).toEqual([]);
    const keys = keysOf(dir);
    expect(toHex(keys.identity)).toBe(toHex(first.identity));
    expect(keys.identityOffline).toBe(false);
    const d = keys.signDescriptor(fields(keys));
    expect(encodeDescriptor(d)[0]).toBe(DESCRIPTOR_FORMAT_VERSION);
    checkDescriptor(p, d, NOW);
  });

  it('offline identity from scratch: only the signing key and its cert in the data directory', () => {
    const dir = tempDir();
    const offline = join(tempDir(), 'usb', 'identity.key');
    const r = runKeygen({ provider: p, rng, dataDir: dir, identityKeyFile: offline, signingKeyLifetimeMs: 20 * DAY, now: NOW });
    expect(r).toMatchObject({ offline: true, identityFile: offline, movedIdentity: false, signingKeyExpires: NOW + 20 * DAY });
    expect(existsSync(offline)).toBe(true);
    expect(existsSync(join(dir, 'keys', 'identity.key'))).toBe(false);
    const keys = keysOf(dir);
    expect(keys.identityOffline).toBe(true);
    expect(keys.identitySeed).toBeNull();
    expect(toHex(keys.identity)).toBe(toHex(r.identity));
    const d = keys.signDescriptor({ ...fields(keys), onionKeyExpires: NOW + 30 * DAY, linkKeyExpires: NOW + 30 * DAY });
    expect(encodeDescriptor(d)[0]).toBe(DESCRIPTOR_FORMAT_VERSION_SIGNING_KEY);
    expect(d.onionKeyCert.expires).toBe(NOW + 20 * DAY); // no cert outlives the signing key
    expect(d.linkKeyCert.expires).toBe(NOW + 20 * DAY);
    checkDescriptor(p, decodeDescriptor(encodeDescriptor(d)), NOW);
  });

  it('moves an existing identity offline (same name), renews, and a running relay picks the renewal up', () => {
    const dir = tempDir();
    const before = keysOf(dir); // a relay made the old way
    const offline = join(tempDir(), 'identity.key');
    const r = runKeygen({ provider: p, rng, dataDir: dir, identityKeyFile: offline, signingKeyLifetimeMs: 5 * DAY, now: NOW });
    expect(r.movedIdentity).toBe(true);
    expect(toHex(r.identity)).toBe(toHex(before.identity));
    expect(existsSync(join(dir, 'keys', 'identity.key'))).toBe(false);
    const running = keysOf(dir);
    expect(running.signingKeyExpiresAt).toBe(NOW + 5 * DAY);
    expect(running.refreshSigningKey()).toBe(false); // nothing newer
    const renewed = runKeygen({ provider: p, rng, dataDir: dir, identityKeyFile: offline, signingKeyLifetimeMs: 30 * DAY, now: NOW + DAY });
    expect(renewed.signingKeyExpires).toBe(NOW + 31 * DAY);
    expect(running.refreshSigningKey()).toBe(true);
    expect(running.signingKeyExpiresAt).toBe(NOW + 31 * DAY);
    checkDescriptor(p, running.signDescriptor({ ...fields(running), published: NOW + 10 * DAY }), NOW + 10 * DAY); // after the first key's expiry
  });

  it('refuses an identity file inside the data directory, or another identity in the way; removes a copy of the same one', () => {
    const dir = tempDir();
    keysOf(dir);
    expect(codeOf(() => runKeygen({ provider: p, rng, dataDir: dir, identityKeyFile: join(dir, 'id.key'), now: NOW }))).toBe('KEYGEN_REFUSED');
    const otherDir = tempDir();
    runKeygen({ provider: p, rng, dataDir: otherDir, now: NOW });
    const otherIdentity = join(otherDir, 'keys', 'identity.key');
    expect(codeOf(() => runKeygen({ provider: p, rng, dataDir: dir, identityKeyFile: otherIdentity, now: NOW }))).toBe('KEYGEN_REFUSED');
    expect(existsSync(join(dir, 'keys', 'identity.key'))).toBe(true); // left alone
    const copy = join(tempDir(), 'identity.key');
    writeFileSync(copy, readFileSync(join(dir, 'keys', 'identity.key')), { mode: 0o600 });
    const r = runKeygen({ provider: p, rng, dataDir: dir, identityKeyFile: copy, now: NOW });
    expect(r.notes.join(' ')).toContain('removed');
    expect(existsSync(join(dir, 'keys', 'identity.key'))).toBe(false);
  });

  it('an expired signing key stops the start with the command that renews it; a tampered cert is corrupt', () => {
    const dir = tempDir();
    runKeygen({ provider: p, rng, dataDir: dir, identityKeyFile: join(tempDir(), 'id.key'), signingKeyLifetimeMs: DAY, now: NOW });
    let error: unknown;
    try {
      keysOf(dir, NOW + DAY);
    } catch (e) {
      error = e;
    }
    expect(isChiveError(error, 'SIGNING_KEY_EXPIRED')).toBe(true);
    expect((error as Error).message).toContain('chive relay keygen --data-directory');
    const certPath = join(dir, 'keys', 'signing-cert.json');
    const cert = JSON.parse(readFileSync(certPath, 'utf8'));
    writeFileSync(certPath, JSON.stringify({ ...cert, expires: cert.expires + DAY }));
    expect(codeOf(() => keysOf(dir))).toBe('KEY_FILE_CORRUPT');
  });
});

describe('chive relay keygen (command)', () => {
  it('prints the identity, the expiry and how to renew; refuses a lifetime without --identity-key', async () => {
    const dir = tempDir();
    const offline = join(tempDir(), 'identity.key');
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runRelayCommand(['keygen', '--data-directory', dir, '--identity-key', offline, '--signing-key-lifetime', '2 days'])).toBe(0);
      expect(await runRelayCommand(['keygen', '--data-directory', dir, '--signing-key-lifetime', '2 days'])).toBe(2);
      expect(await runRelayCommand(['keygen'])).toBe(2);
    } finally {
      spy.mockRestore();
      err.mockRestore();
    }
    const text = out.join('');
    expect(text).toMatch(/identity {6}[0-9a-f]{64}/);
    expect(text).toContain('certified until');
    expect(text).toContain('(2 days)');
    expect(text).toContain(`--identity-key ${offline}`);
    expect(existsSync(join(dir, 'keys', 'signing.key'))).toBe(true);
  });
});

/**
 * The network file (`network.json`): what every role of one chive network shares — the
 * pinned directory authorities (name, HTTP URL, Ed25519 identity), the directory timing,
 * and whether the network is a local testnet. `chive testnet` writes it; every other
 * command reads it with `--network`.
 *
 *     {
 *       "version": 1,
 *       "testnet": true,
 *       "authorities": [
 *         { "name": "auth0", "url": "http://127.0.0.1:7000", "identity": "<64 hex>" }, ...
 *       ],
 *       "timing": { "votingIntervalMs": 10000, "freshIntervals": 1, "validIntervals": 3 }
 *     }
 *
 * Rules (NETWORK_FILE_INVALID, naming the file and the field): at most 64 KiB of JSON;
 * `version` 1; no unknown keys anywhere (a typo must not pass silently); 1..32 authorities
 * (MAX_CONSENSUS_SIGNATURES), unique names of 1..32 characters of [A-Za-z0-9._-], unique
 * identities of 64 hex digits, URLs `http(s)://host[:port]` with nothing after the host but
 * an optional `/`; `timing` optional: each field an integer, votingIntervalMs in
 * [MIN_VOTING_INTERVAL_MS, MAX_VOTING_INTERVAL_MS], 1 ≤ freshIntervals ≤ validIntervals ≤ 24.
 * Defaults: TESTNET_TIMING (10 s) for a testnet, DEFAULT_TIMING (1 h) otherwise.
 *
 * Not here: relay lists, client settings, or fetching anything (directory-client.ts).
 */
import { readFileSync } from 'node:fs';
import { ChiveError } from '../errors.js';
import { fromHex, toHex } from '../bytes.js';
import { ED25519_KEY_LEN, MAX_CONSENSUS_SIGNATURES } from '../wire/constants.js';
import { writeFileAtomic } from './key-files.js';

export const NETWORK_FILE_VERSION = 1;
export const MAX_NETWORK_FILE_LEN = 64 * 1024;
export const MIN_VOTING_INTERVAL_MS = 1000;
export const MAX_VOTING_INTERVAL_MS = 24 * 60 * 60 * 1000;
const MAX_INTERVALS = 24;

/** How consensus periods are laid out (directory/schedule.ts does the arithmetic). */
export interface NetworkTiming {
  /** Length of one period; periods start at multiples of it since the Unix epoch. */
  readonly votingIntervalMs: number;
  /** freshUntil = validAfter + freshIntervals · votingIntervalMs. */
  readonly freshIntervals: number;
  /** validUntil = validAfter + validIntervals · votingIntervalMs. */
  readonly validIntervals: number;
}

export const DEFAULT_TIMING: NetworkTiming = { votingIntervalMs: 60 * 60 * 1000, freshIntervals: 1, validIntervals: 3 };
export const TESTNET_TIMING: NetworkTiming = { votingIntervalMs: 10_000, freshIntervals: 1, validIntervals: 3 };

export interface PinnedAuthority {
  readonly name: string;
  /** Base URL of its HTTP API, without a trailing slash: `http://127.0.0.1:7000`. */
  readonly url: string;
  /** Ed25519 identity (32 bytes). */
  readonly identity: Uint8Array;
}

export interface NetworkConfig {
  readonly testnet: boolean;
  readonly authorities: readonly PinnedAuthority[];
  readonly timing: NetworkTiming;
}

/** The pinned identities, in file order. */
export function pinnedIdentities(network: NetworkConfig): Uint8Array[] {
  return network.authorities.map((a) => a.identity);
}

function invalid(source: string, message: string): never {
  throw new ChiveError('NETWORK_FILE_INVALID', `network file ${source}: ${message}`);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKeys(v: Record<string, unknown>, allowed: readonly string[], where: string, source: string): void {
  for (const k of Object.keys(v)) {
    if (!allowed.includes(k)) invalid(source, `unknown key ${JSON.stringify(k)} in ${where} (allowed: ${allowed.join(', ')})`);
  }
}

function intField(v: unknown, min: number, max: number, field: string, source: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    invalid(source, `${field} must be an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return v;
}

const NAME = /^[A-Za-z0-9._-]{1,32}$/;
const HEX_IDENTITY = /^[0-9a-fA-F]{64}$/;

/** Checks an authority URL and returns it without a trailing slash. */
export function normaliseAuthorityUrl(text: unknown, field: string, source: string): string {
  if (typeof text !== 'string') invalid(source, `${field} must be a string`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    invalid(source, `${field} ${JSON.stringify(text)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid(source, `${field} must be http:// or https://, got ${url.protocol}`);
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    invalid(source, `${field} ${JSON.stringify(text)} must be http(s)://host[:port] with no path, query or credentials`);
  }
  return `${url.protocol}//${url.host}`;
}

function parseTiming(v: unknown, testnet: boolean, source: string): NetworkTiming {
  const defaults = testnet ? TESTNET_TIMING : DEFAULT_TIMING;
  if (v === undefined) return defaults;
  if (!isRecord(v)) invalid(source, 'timing must be an object');
  onlyKeys(v, ['votingIntervalMs', 'freshIntervals', 'validIntervals'], 'timing', source);
  const votingIntervalMs = v.votingIntervalMs === undefined
    ? defaults.votingIntervalMs
    : intField(v.votingIntervalMs, MIN_VOTING_INTERVAL_MS, MAX_VOTING_INTERVAL_MS, 'timing.votingIntervalMs', source);
  const freshIntervals = v.freshIntervals === undefined ? defaults.freshIntervals : intField(v.freshIntervals, 1, MAX_INTERVALS, 'timing.freshIntervals', source);
  const validIntervals = v.validIntervals === undefined ? defaults.validIntervals : intField(v.validIntervals, 1, MAX_INTERVALS, 'timing.validIntervals', source);
  if (validIntervals < freshIntervals) invalid(source, `timing.validIntervals (${validIntervals}) must be ≥ timing.freshIntervals (${freshIntervals})`);
  return { votingIntervalMs, freshIntervals, validIntervals };
}

/** Parses and validates the JSON text of a network file; `source` names it in errors. */
export function parseNetworkFile(text: string, source = '(inline)'): NetworkConfig {
  if (text.length > MAX_NETWORK_FILE_LEN) invalid(source, `larger than ${MAX_NETWORK_FILE_LEN} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    invalid(source, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isRecord(json)) invalid(source, 'must be a JSON object');
  onlyKeys(json, ['version', 'testnet', 'authorities', 'timing'], 'the top level', source);
  if (json.version !== NETWORK_FILE_VERSION) invalid(source, `version must be ${NETWORK_FILE_VERSION}, got ${JSON.stringify(json.version)}`);
  const testnet = json.testnet ?? false;
  if (typeof testnet !== 'boolean') invalid(source, 'testnet must be true or false');
  const list = json.authorities;
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CONSENSUS_SIGNATURES) {
    invalid(source, `authorities must be a list of 1..${MAX_CONSENSUS_SIGNATURES} entries`);
  }
  const names = new Set<string>();
  const identities = new Set<string>();
  const authorities = list.map((entry: unknown, i): PinnedAuthority => {
    const where = `authorities[${i}]`;
    if (!isRecord(entry)) invalid(source, `${where} must be an object`);
    onlyKeys(entry, ['name', 'url', 'identity'], where, source);
    const { name, identity } = entry;
    if (typeof name !== 'string' || !NAME.test(name)) invalid(source, `${where}.name must be 1..32 characters of [A-Za-z0-9._-]`);
    if (names.has(name)) invalid(source, `${where}.name ${JSON.stringify(name)} is used twice`);
    if (typeof identity !== 'string' || !HEX_IDENTITY.test(identity)) invalid(source, `${where}.identity must be ${ED25519_KEY_LEN * 2} hex digits`);
    const key = identity.toLowerCase();
    if (identities.has(key)) invalid(source, `${where}.identity is pinned twice`);
    names.add(name);
    identities.add(key);
    return { name, url: normaliseAuthorityUrl(entry.url, `${where}.url`, source), identity: fromHex(key) };
  });
  return { testnet, authorities, timing: parseTiming(json.timing, testnet, source) };
}

/** Reads and validates a network file (NETWORK_FILE_INVALID when missing or bad). */
export function loadNetworkFile(path: string): NetworkConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(e as Error).message})`;
    throw new ChiveError('NETWORK_FILE_INVALID', `network file ${path} ${why}`, { cause: e });
  }
  return parseNetworkFile(text, path);
}

/** The JSON text of a network file (validated by parsing it back). */
export function formatNetworkFile(network: NetworkConfig): string {
  const json = {
    version: NETWORK_FILE_VERSION,
    testnet: network.testnet,
    authorities: network.authorities.map((a) => ({ name: a.name, url: a.url, identity: toHex(a.identity) })),
    timing: { ...network.timing },
  };
  const text = JSON.stringify(json, null, 2) + '\n';
  parseNetworkFile(text, '(being written)');
  return text;
}

/** Writes a network file atomically (mode 0644: it holds no secret). */
export function writeNetworkFile(path: string, network: NetworkConfig): void {
  writeFileAtomic(path, formatNetworkFile(network), 0o644);
}

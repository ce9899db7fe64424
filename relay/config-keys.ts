/**
 * The relay's configuration keys, declared once: name, value type, default, one-line doc,
 * parser (which validates) and formatter. The config-file parser, the defaults, the
 * command-line flags, `chive relay --help`, `--print-config` and the reference in
 * docs/RELAY.md are all generated from `CONFIG_KEYS`; a key exists only if it is here.
 *
 * Each parser takes the text of one value (one line of the file, or one flag) and returns
 * the typed value or throws ChiveError CONFIG_INVALID with a message that names no file or
 * line (relay/config.ts adds those). Checks that involve several keys (BandwidthBurst ≥
 * BandwidthRate, private addresses outside a testnet, …) live in relay/config.ts, not here.
 */
import { isIPv6 } from 'node:net';
import { homedir } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { ChiveError, isChiveError } from '../src/errors.js';
import { type Fail, checkNickname, checkText, parseIpv4, parseRelayAddress } from '../src/dirdoc/fields.js';
import { formatExitPolicy, parseExitPolicy } from '../src/dirdoc/exit-policy.js';
import { ED25519_KEY_LEN, MAX_CONTACT_LEN } from '../src/wire/constants.js';
import { DEFAULT_RELAY_LIMITS } from './limits.js';
import { MAX_DURATION_MS, formatBytes, formatDuration, parseBytes, parseDuration } from './config-units.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export type AccountingPeriod = 'day' | 'week' | 'month';
export type CryptoProviderChoice = 'auto' | 'sodium' | 'noble';

/** The effective relay configuration: every size in bytes, every duration in milliseconds. */
export interface RelayConfig {
  /** Name in the consensus, 1..19 characters of [A-Za-z0-9]. */
  nickname: string;
  /** Host the ws server listens on (IPv4, IPv6 literal or DNS name). */
  address: string;
  /** ws port to listen on; 0 = a random free port. */
  orPort: number;
  /** ws URL put in the descriptor; undefined only when ORPort is 0 (the daemon uses ws://Address:<bound port>). */
  advertisedUrl: string | undefined;
  /** Absolute path of the data directory (keys, state). */
  dataDirectory: string;
  /** Absolute path of the network file listing the authorities. */
  network: string | undefined;
  /**
   * Canonical exit-policy rules, one per entry, first match wins; parse with
   * `parseExitPolicy(exitPolicy.join('\n'))`. Outside a testnet, rules rejecting private
   * ranges and the relay's own IPv4 address come first whenever any rule accepts.
   */
  exitPolicy: string[];
  /** Token-bucket rate in bytes per second, each direction; 0 = unlimited. */
  bandwidthRate: number;
  /** Token-bucket size in bytes; resolved to BandwidthRate when set to 0. */
  bandwidthBurst: number;
  /** Bytes (in + out) per accounting period before hibernating; 0 = no accounting. */
  accountingMax: number;
  accountingPeriod: AccountingPeriod;
  /** Identity keys (32 bytes each) of the operator's other relays, sorted and unique. */
  family: Uint8Array[];
  contactInfo: string | undefined;
  maxLinks: number;
  maxCircuits: number;
  maxCircuitsPerLink: number;
  /** CREATE2 cells per second accepted from one link (token bucket); 0 = unlimited. */
  createRate: number;
  /** Size of the CREATE2 token bucket of one link. */
  createBurst: number;
  /** Total bytes queued on all links before the OOM handler destroys circuits. */
  maxQueuedBytes: number;
  maxQueuedBytesPerLink: number;
  /** Port of the /metrics and /status.json endpoint; 0 = off. */
  metricsPort: number;
  /** Explicitly configured metrics host; undefined = 127.0.0.1 (non-loopback binds need this set). */
  metricsAddress: string | undefined;
  logLevel: LogLevel;
  /** Absolute path of the log file; undefined = stderr. */
  logFile: string | undefined;
  cryptoProvider: CryptoProviderChoice;
  onionKeyRotationMs: number;
  onionKeyGraceMs: number;
  descriptorUploadIntervalMs: number;
  testnet: boolean;
}

/** Where relative paths in a value are resolved from (the config file's folder, or the cwd for flags). */
export interface ParseContext {
  readonly baseDir: string;
}

interface KeyCommon {
  /** Canonical spelling in the file; lookups are case-insensitive. */
  readonly name: string;
  /** Placeholder for the value in --help: NAME, BYTES, DURATION, … */
  readonly type: string;
  readonly doc: string;
  /** Never printed by formatConfig (no key is secret today; the rule stays). */
  readonly secret?: boolean;
}
/** A key with a default value (given as text, parsed like a file value). */
export interface ScalarKeyDef<T> extends KeyCommon {
  readonly kind: 'scalar';
  readonly default: string;
  parse(text: string, ctx: ParseContext): T;
  format(value: T): string;
}
/** A key that may be absent (undefined); `absent` says in --help what that means. */
export interface OptionalKeyDef<T> extends KeyCommon {
  readonly kind: 'optional';
  readonly absent: string;
  parse(text: string, ctx: ParseContext): T;
  format(value: T): string;
}
/** A key that may repeat; every line (or flag) adds items; one line may hold several. */
export interface ListKeyDef<T> extends KeyCommon {
  readonly kind: 'list';
  readonly default: readonly string[];
  parse(text: string, ctx: ParseContext): T[];
  format(value: T): string;
}

type KeyDefFor<V> = [V] extends [readonly (infer E)[]]
  ? ListKeyDef<E>
  : undefined extends V
    ? OptionalKeyDef<NonNullable<V>>
    : ScalarKeyDef<V> | OptionalKeyDef<V>;

export type ConfigField = keyof RelayConfig;
export type ConfigKeyTable = { readonly [F in ConfigField]: KeyDefFor<RelayConfig[F]> };
export type AnyConfigKeyDef = ScalarKeyDef<unknown> | OptionalKeyDef<unknown> | ListKeyDef<unknown>;

function invalid(message: string): never {
  throw new ChiveError('CONFIG_INVALID', message);
}

const failInvalid: Fail = (_kind, message) => invalid(message);

const identity = (v: string): string => v;

function parseInteger(text: string, min: number, max: number): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) invalid(`${JSON.stringify(text)} is not a whole number in ${min}..${max}`);
  return Number(text);
}

function inRange(value: number, min: number, max: number, text: string, show: (n: number) => string): number {
  if (value < min || value > max) invalid(`${JSON.stringify(text)} is out of range: ${show(min)}..${show(max)}`);
  return value;
}

const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** An IPv4 address, an IPv6 literal or a DNS name (lower-cased). */
function parseHost(text: string): string {
  const host = text.toLowerCase();
  if (parseIpv4(host) !== undefined || isIPv6(host)) return host;
  if (/^[0-9.]+$/.test(host) || !DNS_NAME.test(host)) invalid(`${JSON.stringify(text)} is not an IPv4 address, IPv6 address or host name`);
  return host;
}

function parsePath(text: string, ctx: ParseContext): string {
  if (text.includes('\0')) invalid('a path must not contain NUL');
  const expanded = text === '~' || text.startsWith('~/') ? homedir() + text.slice(1) : text;
  return resolvePath(ctx.baseDir, expanded);
}

function oneOf<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    const v = text.toLowerCase();
    if (!(choices as readonly string[]).includes(v)) invalid(`${JSON.stringify(text)} is not one of ${choices.join(', ')}`);
    return v as T;
  };
}

/** A line of exit policy ("accept 127.0.0.1:7, reject *:*") as canonical rules, one per entry. */
function parsePolicyLine(text: string): string[] {
  try {
    return parseExitPolicy(text).map((rule) => formatExitPolicy([rule]));
  } catch (e) {
    if (isChiveError(e, 'EXIT_POLICY_SYNTAX')) invalid(e.message);
    throw e;
  }
}

/** Identity keys separated by commas or spaces: 64 hex digits (optionally `$`-prefixed) or base64 of 32 bytes. */
function parseFamilyLine(text: string): Uint8Array[] {
  return text.split(/[\s,]+/).filter((item) => item !== '').map((item) => {
    const hex = item.startsWith('$') ? item.slice(1) : item;
    if (/^[0-9a-fA-F]{64}$/.test(hex)) return new Uint8Array(Buffer.from(hex, 'hex'));
    if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(item)) {
      const bytes = Buffer.from(item.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
      if (bytes.length === ED25519_KEY_LEN) return new Uint8Array(bytes);
    }
    return invalid(`family member ${JSON.stringify(item)} is not an identity key (64 hex digits or base64 of ${ED25519_KEY_LEN} bytes)`);
  });
}

const hex = (key: Uint8Array): string => Buffer.from(key).toString('hex');

function duration(min: number): Pick<ScalarKeyDef<number>, 'parse' | 'format'> {
  return {
    parse: (text) => inRange(parseDuration(text), min, MAX_DURATION_MS, text, formatDuration),
    format: formatDuration,
  };
}
function bytes(min: number): Pick<ScalarKeyDef<number>, 'parse' | 'format'> {
  return { parse: (text) => inRange(parseBytes(text), min, Number.MAX_SAFE_INTEGER, text, formatBytes), format: formatBytes };
}
function count(min: number, max: number): Pick<ScalarKeyDef<number>, 'parse' | 'format'> {
  return { parse: (text) => parseInteger(text, min, max), format: String };
}
function port(): Pick<ScalarKeyDef<number>, 'parse' | 'format'> {
  return count(0, 65535);
}

export const CONFIG_KEYS: ConfigKeyTable = {
  nickname: {
    kind: 'scalar', name: 'Nickname', type: 'NAME', default: 'Unnamed',
    doc: "The relay's name in the consensus: 1..19 characters of [A-Za-z0-9].",
    parse: (text) => (checkNickname(text, failInvalid), text), format: identity,
  },
  address: {
    kind: 'scalar', name: 'Address', type: 'HOST', default: '127.0.0.1',
    doc: 'Host the ws server listens on (0.0.0.0 for every interface; then set AdvertisedURL).',
    parse: parseHost, format: identity,
  },
  orPort: {
    kind: 'scalar', name: 'ORPort', type: 'PORT', default: '9001',
    doc: 'ws port relays and clients connect to; 0 = a random free port.',
    ...port(),
  },
  advertisedUrl: {
    kind: 'optional', name: 'AdvertisedURL', type: 'URL', absent: 'ws://Address:ORPort',
    doc: 'ws:// or wss:// URL published in the descriptor (IPv4 or DNS host, explicit port).',
    parse: (text) => (parseRelayAddress(text) === undefined ? invalid(`${JSON.stringify(text)} is not ws://HOST:PORT or wss://HOST:PORT (IPv4 or lower-case DNS host)`) : text),
    format: identity,
  },
  dataDirectory: {
    kind: 'optional', name: 'DataDirectory', type: 'PATH', absent: 'required',
    doc: 'Folder for the keys (mode 0600) and state; relative paths are from the config file.',
    parse: parsePath, format: identity,
  },
  network: {
    kind: 'optional', name: 'Network', type: 'PATH', absent: 'none',
    doc: 'The network file (network.json) listing the directory authorities.',
    parse: parsePath, format: identity,
  },
  exitPolicy: {
    kind: 'list', name: 'ExitPolicy', type: 'POLICY', default: ['reject *:*'],
    doc: 'accept|reject ADDR[/BITS]:PORT[-PORT], comma-separated, lines accumulate; first match wins.',
    parse: parsePolicyLine, format: identity,
  },
  bandwidthRate: {
    kind: 'scalar', name: 'BandwidthRate', type: 'BYTES', default: '0',
    doc: 'Average bytes per second forwarded in each direction (e.g. "1 MB"); 0 = unlimited.',
    ...bytes(0),
  },
  bandwidthBurst: {
    kind: 'scalar', name: 'BandwidthBurst', type: 'BYTES', default: '0',
    doc: 'Largest burst in bytes above the rate; 0 = same as BandwidthRate.',
    ...bytes(0),
  },
  accountingMax: {
    kind: 'scalar', name: 'AccountingMax', type: 'BYTES', default: '0',
    doc: 'Bytes (in + out) per accounting period before the relay hibernates; 0 = no limit.',
    ...bytes(0),
  },
  accountingPeriod: {
    kind: 'scalar', name: 'AccountingPeriod', type: 'day|week|month', default: 'month',
    doc: 'Length of the accounting period AccountingMax applies to.',
    parse: oneOf<AccountingPeriod>(['day', 'week', 'month']), format: identity,
  },
  family: {
    kind: 'list', name: 'Family', type: 'KEYS', default: [],
    doc: "Identity keys (hex or base64) of the operator's other relays; lines accumulate.",
    parse: parseFamilyLine, format: hex,
  },
  contactInfo: {
    kind: 'optional', name: 'ContactInfo', type: 'TEXT', absent: 'none',
    doc: `How to reach the operator (published; at most ${MAX_CONTACT_LEN} bytes).`,
    parse: (text) => (checkText(text, MAX_CONTACT_LEN, 'ContactInfo', failInvalid), text), format: identity,
  },
  maxLinks: {
    kind: 'scalar', name: 'MaxLinks', type: 'N', default: String(DEFAULT_RELAY_LIMITS.maxLinks),
    doc: 'Most open links, from clients and relays together.',
    ...count(1, 1_000_000),
  },
  maxCircuits: {
    kind: 'scalar', name: 'MaxCircuits', type: 'N', default: String(DEFAULT_RELAY_LIMITS.maxCircuits),
    doc: 'Most circuits open through the relay; more CREATE2 are refused.',
    ...count(1, 10_000_000),
  },
  maxCircuitsPerLink: {
    kind: 'scalar', name: 'MaxCircuitsPerLink', type: 'N', default: String(DEFAULT_RELAY_LIMITS.maxCircuitsPerLink),
    doc: 'Most circuits on one link.',
    ...count(1, 10_000_000),
  },
  createRate: {
    kind: 'scalar', name: 'CreateRate', type: 'NUMBER', default: String(DEFAULT_RELAY_LIMITS.createRate),
    doc: 'CREATE2 per second accepted from one link (token bucket); 0 = unlimited.',
    parse: (text) => {
      if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || Number(text) > 1_000_000) invalid(`${JSON.stringify(text)} is not a rate in 0..1000000`);
      return Number(text);
    },
    format: String,
  },
  createBurst: {
    kind: 'scalar', name: 'CreateBurst', type: 'N', default: String(DEFAULT_RELAY_LIMITS.createBurst),
    doc: 'CREATE2 accepted at once from one link before CreateRate applies.',
    ...count(1, 1_000_000),
  },
  maxQueuedBytes: {
    kind: 'scalar', name: 'MaxQueuedBytes', type: 'BYTES', default: formatBytes(DEFAULT_RELAY_LIMITS.maxQueuedBytes),
    doc: 'Bytes queued on all links before the OOM handler destroys the circuits with the oldest data.',
    ...bytes(16 * 1024),
  },
  maxQueuedBytesPerLink: {
    kind: 'scalar', name: 'MaxQueuedBytesPerLink', type: 'BYTES', default: formatBytes(DEFAULT_RELAY_LIMITS.maxQueuedBytesPerLink),
    doc: 'Bytes queued on one link before the relay closes that link.',
    ...bytes(16 * 1024),
  },
  metricsPort: {
    kind: 'scalar', name: 'MetricsPort', type: 'PORT', default: '0',
    doc: 'Port of the local /metrics (Prometheus) and /status.json endpoint; 0 = off.',
    ...port(),
  },
  metricsAddress: {
    kind: 'optional', name: 'MetricsAddress', type: 'HOST', absent: '127.0.0.1',
    doc: 'Host the metrics endpoint binds; a non-loopback host is used only when set here.',
    parse: parseHost, format: identity,
  },
  logLevel: {
    kind: 'scalar', name: 'LogLevel', type: 'trace|debug|info|warn|error', default: 'info',
    doc: 'Least severe log level written.',
    parse: oneOf<LogLevel>(['trace', 'debug', 'info', 'warn', 'error']), format: identity,
  },
  logFile: {
    kind: 'optional', name: 'LogFile', type: 'PATH', absent: 'stderr',
    doc: 'File the JSON-lines log is appended to.',
    parse: parsePath, format: identity,
  },
  cryptoProvider: {
    kind: 'scalar', name: 'CryptoProvider', type: 'auto|sodium|noble', default: 'auto',
    doc: 'Crypto implementation: libsodium (fast, native) or noble (pure JS); auto prefers sodium.',
    parse: oneOf<CryptoProviderChoice>(['auto', 'sodium', 'noble']), format: identity,
  },
  onionKeyRotationMs: {
    kind: 'scalar', name: 'OnionKeyRotation', type: 'DURATION', default: '7 days',
    doc: 'How often a new onion (circuit handshake) key is made (e.g. "7 days", "30 s").',
    ...duration(1000),
  },
  onionKeyGraceMs: {
    kind: 'scalar', name: 'OnionKeyGrace', type: 'DURATION', default: '7 days',
    doc: 'How long the previous onion key still answers handshakes; at most OnionKeyRotation (the default is capped to it).',
    ...duration(0),
  },
  descriptorUploadIntervalMs: {
    kind: 'scalar', name: 'DescriptorUploadInterval', type: 'DURATION', default: '1 hour',
    doc: 'How often the descriptor is uploaded again to every authority (it is also uploaded on start).',
    ...duration(1000),
  },
  testnet: {
    kind: 'scalar', name: 'Testnet', type: '0|1', default: '0',
    doc: 'A local test network: allows private and loopback addresses in AdvertisedURL and ExitPolicy.',
    parse: (text) => (text === '1' ? true : text === '0' ? false : invalid(`${JSON.stringify(text)} is not 0 or 1`)),
    format: (v) => (v ? '1' : '0'),
  },
};

/** Every field, in table (and --help) order. */
export const CONFIG_FIELDS = Object.keys(CONFIG_KEYS) as ConfigField[];

/** The definition of `field`, typed loosely for generic code (parser, help, formatter). */
export function keyDef(field: ConfigField): AnyConfigKeyDef {
  return CONFIG_KEYS[field] as unknown as AnyConfigKeyDef;
}

/** `ORPort` → `or-port`, `AdvertisedURL` → `advertised-url`, `MaxCircuitsPerLink` → `max-circuits-per-link`. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

/** Spelling-insensitive lookup: `ORPort`, `orport`, `--or-port`, `orPort`, `or_port` all find orPort. */
export function findConfigKey(spelling: string): ConfigField | undefined {
  const wanted = spelling.replace(/^-+/, '').replace(/[-_]/g, '').toLowerCase();
  return CONFIG_FIELDS.find((f) => keyDef(f).name.toLowerCase() === wanted);
}

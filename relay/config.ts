/**
 * The relay's configuration: a torrc-like file plus command-line overrides, resolved into
 * a typed `RelayConfig` (sizes in bytes, durations in milliseconds, absolute paths).
 *
 * File syntax: one `Key value` per line; `#` at the start of a line or after whitespace
 * begins a comment; blank lines are ignored; keys are case-insensitive. Only list keys
 * (ExitPolicy, Family) may repeat, and their lines accumulate. Unknown keys, bad values and
 * a repeated scalar key are ChiveError CONFIG_INVALID naming the file and line. Flags
 * (`--ORPort 0`, `--or-port 0`, `--or-port=0`) replace the file's value of their key.
 *
 * The keys themselves (types, defaults, docs, validators) are declared once in
 * relay/config-keys.ts; this module is the reader, the cross-key checks, the printer and
 * the help text. It is not `chive relay check` (reachability, key-file permissions).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { ChiveError, isChiveError } from '../src/errors.js';
import { formatExitPolicy, maskOf, parseExitPolicy } from '../src/dirdoc/exit-policy.js';
import { compareBytes, parseIpv4, parseRelayAddress } from '../src/dirdoc/fields.js';
import { MAX_EXIT_POLICY_RULES, MAX_FAMILY_SIZE } from '../src/wire/constants.js';
import { type AnyConfigKeyDef, type ConfigField, type RelayConfig, CONFIG_FIELDS, findConfigKey, kebabCase, keyDef } from './config-keys.js';
import { formatBytes, formatDuration } from './config-units.js';

export type { RelayConfig, ConfigField, LogLevel, AccountingPeriod, CryptoProviderChoice } from './config-keys.js';
export { CONFIG_KEYS, CONFIG_FIELDS, findConfigKey, kebabCase } from './config-keys.js';
export { parseBytes, parseDuration, formatBytes, formatDuration, formatApproxDuration } from './config-units.js';

/** One value as written: its text, where it came from ("relay.conf:12", "--or-port"), and the folder relative paths start from. */
export interface ConfigValueSource {
  readonly text: string;
  readonly where: string;
  readonly baseDir: string;
}

/** Values as read, not yet resolved: one entry per scalar key, one per line or flag for list keys. */
export interface ConfigSource {
  readonly values: ReadonlyMap<ConfigField, readonly ConfigValueSource[]>;
}

/** Largest config file read (a relay's torrc is a few KB). */
const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

function invalid(message: string): never {
  throw new ChiveError('CONFIG_INVALID', message);
}

/** Parses one value with its key's parser; errors gain "where: Key: ". */
function parseValue(def: AnyConfigKeyDef, v: ConfigValueSource): unknown {
  try {
    return def.parse(v.text, { baseDir: v.baseDir });
  } catch (e) {
    if (isChiveError(e, 'CONFIG_INVALID')) invalid(`${v.where}: ${def.name}: ${e.message}`);
    throw e;
  }
}

export function emptyConfig(): ConfigSource {
  return { values: new Map() };
}

/** Reads config text; `path` names the file in errors and anchors its relative paths. */
export function parseConfigText(text: string, path: string): ConfigSource {
  const values = new Map<ConfigField, ConfigValueSource[]>();
  const baseDir = dirname(resolvePath(path));
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, index) => {
    const where = `${path}:${index + 1}`;
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const m = /^(\S+)(?:\s+(.*))?$/.exec(line)!;
    const name = m[1]!;
    const field = CONFIG_FIELDS.find((f) => keyDef(f).name.toLowerCase() === name.toLowerCase());
    if (field === undefined) {
      const near = findConfigKey(name);
      invalid(`${where}: unknown key ${JSON.stringify(name)}${near ? ` (did you mean ${keyDef(near).name}?)` : ''}`);
    }
    const def = keyDef(field);
    const value = { text: (m[2] ?? '').trim(), where, baseDir };
    if (value.text === '') invalid(`${where}: ${def.name} needs a value`);
    const previous = values.get(field);
    if (previous && def.kind !== 'list') invalid(`${where}: ${def.name} is already set at ${previous[0]!.where}; only list keys may repeat`);
    parseValue(def, value);
    values.set(field, [...(previous ?? []), value]);
  });
  return { values };
}

/** Reads and parses a config file (UTF-8, at most 1 MiB). */
export async function loadConfigFile(path: string): Promise<ConfigSource> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    return invalid(`cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  if (bytes.length > MAX_CONFIG_FILE_BYTES) invalid(`${path}: config file is larger than ${formatBytes(MAX_CONFIG_FILE_BYTES)}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return invalid(`${path}: config file is not valid UTF-8`);
  }
  return parseConfigText(text, path);
}

/** A flag value: a string, several strings for a repeated list flag, or what commander gives (boolean, number). */
export type OverrideValue = string | number | boolean | readonly string[] | undefined;

/**
 * Replaces the source's values of every key in `overrides` (keys spelt `ORPort`, `or-port`,
 * `--or-port` or `orPort`; undefined values are skipped). Relative paths are from `cwd`.
 */
export function applyOverrides(source: ConfigSource, overrides: Readonly<Record<string, OverrideValue>>, cwd = process.cwd()): ConfigSource {
  const values = new Map(source.values);
  for (const [flag, given] of Object.entries(overrides)) {
    if (given === undefined) continue;
    const field = findConfigKey(flag);
    if (field === undefined) invalid(`unknown option --${flag.replace(/^-+/, '')}: not a relay configuration key`);
    const def = keyDef(field);
    const where = `--${kebabCase(def.name)}`;
    const texts = Array.isArray(given) ? given : [typeof given === 'boolean' ? (given ? '1' : '0') : String(given)];
    if (texts.length === 0) continue;
    if (texts.length > 1 && def.kind !== 'list') invalid(`${where}: ${def.name} takes one value, got ${texts.length}`);
    const list = texts.map((text: string) => ({ text: text.trim(), where, baseDir: cwd }));
    for (const v of list) {
      if (v.text === '') invalid(`${where}: ${def.name} needs a value`);
      parseValue(def, v);
    }
    values.set(field, list);
  }
  return { values };
}

/**
 * Pulls config flags out of an argv: `--Key value`, `--key-name value`, `--key=value` for
 * every config key (repeatable for list keys). Returns them and the arguments left over.
 */
export function extractConfigFlags(argv: readonly string[]): { overrides: Record<string, string[]>; rest: string[] } {
  const overrides: Record<string, string[]> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(.*))?$/s.exec(arg);
    const field = m ? findConfigKey(m[1]!) : undefined;
    if (!m || field === undefined) {
      rest.push(arg);
      continue;
    }
    let value = m[2];
    if (value === undefined) {
      value = argv[i + 1];
      if (value === undefined) invalid(`${arg} needs a value`);
      i++;
    }
    (overrides[keyDef(field).name] ??= []).push(value);
  }
  return { overrides, rest };
}

/** IPv4 ranges that are not the public Internet: an exit never reaches them outside a testnet. */
export const PRIVATE_IPV4_PREFIXES: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.168.0.0', 16], ['224.0.0.0', 4], ['240.0.0.0', 4],
];

/** The private range ("10.0.0.0/8") that wholly contains address/maskBits, if any. */
export function privatePrefixOf(address: number, maskBits: number): string | undefined {
  for (const [net, bits] of PRIVATE_IPV4_PREFIXES) {
    const base = parseIpv4(net)!;
    if (maskBits >= bits && ((address & maskOf(bits)) >>> 0) === base) return `${net}/${bits}`;
  }
  return undefined;
}

function isPrivateHost(host: string): boolean {
  const ip = parseIpv4(host);
  if (ip !== undefined) return privatePrefixOf(ip, 32) !== undefined;
  return host === 'localhost' || host.endsWith('.localhost');
}

/** Resolves defaults and checks what involves several keys. The result is complete and valid. */
export function resolveConfig(source: ConfigSource): RelayConfig {
  const cwd = process.cwd();
  const where = (f: ConfigField): string => source.values.get(f)?.[0]?.where ?? 'default';
  const out: Record<string, unknown> = {};
  for (const field of CONFIG_FIELDS) {
    const def = keyDef(field);
    const given = source.values.get(field);
    const defaults = def.kind === 'optional' ? [] : def.kind === 'list' ? def.default : [def.default];
    const texts = given ?? defaults.map((text) => ({ text, where: `default ${def.name}`, baseDir: cwd }));
    const parsed = texts.map((v) => parseValue(def, v));
    out[field] = def.kind === 'list' ? parsed.flat() : parsed[0];
  }
  const c = out as unknown as RelayConfig;

  if (c.dataDirectory === undefined) invalid('DataDirectory is required: set it in the config file or with --data-directory');
  if (c.bandwidthBurst === 0) c.bandwidthBurst = c.bandwidthRate;
  else if (c.bandwidthRate === 0) invalid(`${where('bandwidthBurst')}: BandwidthBurst is set but BandwidthRate is 0 (unlimited); set both or neither`);
  else if (c.bandwidthBurst < c.bandwidthRate) {
    invalid(`${where('bandwidthBurst')}: BandwidthBurst ${formatBytes(c.bandwidthBurst)} is below BandwidthRate ${formatBytes(c.bandwidthRate)}`);
  }
  if (c.maxQueuedBytesPerLink > c.maxQueuedBytes) {
    invalid(`${where('maxQueuedBytesPerLink')}: MaxQueuedBytesPerLink ${formatBytes(c.maxQueuedBytesPerLink)} exceeds MaxQueuedBytes ${formatBytes(c.maxQueuedBytes)}`);
  }
  if (!source.values.has('onionKeyGraceMs')) c.onionKeyGraceMs = Math.min(c.onionKeyGraceMs, c.onionKeyRotationMs);
  else if (c.onionKeyGraceMs > c.onionKeyRotationMs) {
    invalid(`${where('onionKeyGraceMs')}: OnionKeyGrace ${formatDuration(c.onionKeyGraceMs)} exceeds OnionKeyRotation ${formatDuration(c.onionKeyRotationMs)}`);
  }
  if (c.metricsPort !== 0 && c.metricsPort === c.orPort) invalid(`${where('metricsPort')}: MetricsPort must differ from ORPort`);

  const advertisedHost = resolveAdvertised(c, where);
  if (!c.testnet && isPrivateHost(advertisedHost)) {
    invalid(`${where(source.values.has('advertisedUrl') ? 'advertisedUrl' : 'address')}: the relay would advertise ${advertisedHost}, a private or loopback address; set AdvertisedURL to a public address, or Testnet 1 for a local test network`);
  }
  c.exitPolicy = effectiveExitPolicy(c, source, advertisedHost);
  c.family = uniqueSorted(c.family);
  if (c.family.length > MAX_FAMILY_SIZE) invalid(`${where('family')}: Family lists ${c.family.length} relays; at most ${MAX_FAMILY_SIZE}`);
  return c;
}

/** Fills AdvertisedURL from Address and ORPort when unset; returns the host relays and clients will dial. */
function resolveAdvertised(c: RelayConfig, where: (f: ConfigField) => string): string {
  if (c.advertisedUrl !== undefined) return parseRelayAddress(c.advertisedUrl)!.host;
  if (parseRelayAddress(`ws://${c.address}:1`) === undefined || c.address === '0.0.0.0') {
    invalid(`${where('address')}: Address ${c.address} cannot be dialled by others; set AdvertisedURL (ws://HOST:PORT)`);
  }
  if (c.orPort !== 0) c.advertisedUrl = `ws://${c.address}:${c.orPort}`;
  return c.address;
}

/**
 * The canonical rules, with (outside a testnet, when anything is accepted) rejects of the
 * private ranges and of the relay's own IPv4 address in front, once. An accept rule that
 * lies wholly inside a private range is an error outside a testnet.
 */
function effectiveExitPolicy(c: RelayConfig, source: ConfigSource, advertisedHost: string): string[] {
  const lines = source.values.get('exitPolicy') ?? [];
  const accepts = c.exitPolicy.some((rule) => rule.startsWith('accept'));
  if (!c.testnet) {
    for (const line of lines) {
      for (const rule of parseExitPolicy(line.text)) {
        const prefix = rule.action === 'accept' ? privatePrefixOf(rule.address, rule.maskBits) : undefined;
        if (prefix !== undefined) {
          invalid(`${line.where}: ExitPolicy rule "${formatExitPolicy([rule])}" accepts only private addresses (${prefix}); exits reach private addresses only with Testnet 1`);
        }
      }
    }
  }
  let policy = c.exitPolicy;
  if (!c.testnet && accepts) {
    const guard = PRIVATE_IPV4_PREFIXES.map(([net, bits]) => `reject ${net}/${bits}:*`);
    const own = parseIpv4(advertisedHost);
    if (own !== undefined) guard.push(formatExitPolicy([{ action: 'reject', address: own, maskBits: 32, portMin: 1, portMax: 65535 }]));
    const present = guard.every((g, i) => policy[i] === g);
    if (!present) policy = [...guard, ...policy];
  }
  if (policy.length > MAX_EXIT_POLICY_RULES) invalid(`ExitPolicy has ${policy.length} rules (with the private-range rejects); at most ${MAX_EXIT_POLICY_RULES}`);
  return policy;
}

function uniqueSorted(keys: readonly Uint8Array[]): Uint8Array[] {
  const sorted = [...keys].sort(compareBytes);
  return sorted.filter((k, i) => i === 0 || compareBytes(sorted[i - 1]!, k) !== 0);
}

/**
 * One key's value as given (or its default), parsed, without resolving the rest: for
 * commands that need one or two keys of a relay's configuration (keygen's DataDirectory),
 * where the cross-key checks of a whole relay do not apply. Undefined for an unset optional key.
 */
export function configValue<F extends ConfigField>(source: ConfigSource, field: F): RelayConfig[F] | undefined {
  const def = keyDef(field);
  const given = source.values.get(field);
  if (given === undefined || given.length === 0) {
    if (def.kind === 'optional') return undefined;
    const defaults = def.kind === 'list' ? def.default : [def.default];
    const parsed = defaults.map((text) => parseValue(def, { text, where: `default ${def.name}`, baseDir: process.cwd() }));
    return (def.kind === 'list' ? parsed.flat() : parsed[0]) as RelayConfig[F];
  }
  const parsed = given.map((v) => parseValue(def, v));
  return (def.kind === 'list' ? parsed.flat() : parsed[0]) as RelayConfig[F];
}

/** Reads the file (if any), applies the flags, resolves. */
export async function loadRelayConfig(options: { file?: string; overrides?: Readonly<Record<string, OverrideValue>>; cwd?: string }): Promise<RelayConfig> {
  const fromFile = options.file === undefined ? emptyConfig() : await loadConfigFile(options.file);
  return resolveConfig(applyOverrides(fromFile, options.overrides ?? {}, options.cwd));
}

/**
 * The effective configuration as config-file text (for `chive relay --print-config`):
 * every key in table order; unset optional keys and empty lists as comments. Parsing the
 * output gives the same configuration back. Keys marked secret are never printed.
 */
export function formatConfig(config: RelayConfig): string {
  const out = ['# chive relay: effective configuration'];
  for (const field of CONFIG_FIELDS) {
    const def = keyDef(field);
    const value: unknown = config[field];
    if (def.secret) out.push(`# ${def.name} [redacted]`);
    else if (def.kind === 'list') {
      const items = value as unknown[];
      if (items.length === 0) out.push(`# ${def.name} (none)`);
      for (const item of items) out.push(`${def.name} ${def.format(item)}`);
    } else if (value === undefined) out.push(`# ${def.name} (unset: ${def.kind === 'optional' ? def.absent : 'none'})`);
    else out.push(`${def.name} ${def.format(value)}`);
  }
  return out.join('\n') + '\n';
}

function defaultText(def: AnyConfigKeyDef): string {
  if (def.kind === 'optional') return def.absent;
  if (def.kind === 'list') return def.default.length === 0 ? 'none' : def.default.join(', ');
  return def.default;
}

/** The key reference for `chive relay --help`, generated from the key table. */
export function configHelpText(): string {
  const out = [
    'Configuration keys. In the file (--config FILE): one "Key value" per line, # comments,',
    'keys case-insensitive; ExitPolicy and Family lines accumulate. Every key is also a flag',
    '(--or-port 0, --ORPort 0 or --or-port=0) that replaces the file\'s value. Sizes take',
    'units (KB = 1024 bytes, MB, GB); durations need one (ms, s, min, h, days, weeks).',
    '',
  ];
  for (const field of CONFIG_FIELDS) {
    const def = keyDef(field);
    const repeat = def.kind === 'list' ? ', repeatable' : '';
    out.push(`  ${def.name} ${def.type}  (--${kebabCase(def.name)}${repeat}; default: ${defaultText(def)})`);
    out.push(`      ${def.doc}`);
  }
  return out.join('\n') + '\n';
}

/** The "Configuration reference" table of docs/RELAY.md, generated from the key table. */
export function configReferenceMarkdown(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = CONFIG_FIELDS.map((field) => {
    const def = keyDef(field);
    const repeat = def.kind === 'list' ? ' (repeatable)' : '';
    return `| \`${def.name}\` | \`--${kebabCase(def.name)}\` | ${cell(def.type)}${repeat} | ${cell(defaultText(def))} | ${cell(def.doc)} |`;
  });
  return ['| Key | Flag | Value | Default | Meaning |', '|---|---|---|---|---|', ...rows].join('\n') + '\n';
}

/**
 * `chive relay check`: looks at a relay's configuration, files and network the way an
 * operator would before starting it, and says for each thing ✓ or ✗ with a fix.
 *
 * In order: the configuration parses and its keys agree; the exit policy accepts no private
 * address outside a testnet; a Family comes with ContactInfo; the network file; the data
 * directory and every key file (modes 0700 / 0600, readable, an offline identity's signing
 * key not expired nor about to); the ORPort can be bound on Address (or is already served,
 * presumably by the relay); the metrics port; the log file's folder; and a reachability
 * self-test: a Noise NK handshake to the relay's own AdvertisedURL with its link key —
 * against the running relay when its port is taken, else against a temporary listener
 * started on Address:ORPort for the test.
 *
 * `warn` results (!) are things to know that do not stop a relay; the command exits 0 only
 * when nothing is `fail`. Reads and binds, never writes (the temporary listener closes).
 * Not the loading of the configuration (relay/config.ts) nor key creation (relay/keygen.ts).
 */
import { existsSync, readdirSync, statSync, accessSync, constants as fsConstants } from 'node:fs';
import { createServer } from 'node:net';
import { lookup } from 'node:dns/promises';
import { dirname, join } from 'node:path';
import type { CryptoProvider, Rng } from '../src/crypto/provider.js';
import { isChiveError } from '../src/errors.js';
import { exitPolicyAllows, formatExitPolicy, parseExitPolicy, parseIpv4, parseRelayAddress } from '../src/dirdoc/index.js';
import { connectLink } from '../src/io/link-connect.js';
import { startLinkServer, type LinkServer } from '../src/io/link-server.js';
import { readKeyFile } from '../src/io/key-files.js';
import { loadNetworkFile } from '../src/io/network-file.js';
import { formatApproxDuration } from './config-units.js';
import {
  type ConfigSource, type OverrideValue, type RelayConfig, PRIVATE_IPV4_PREFIXES, applyOverrides, emptyConfig,
  loadConfigFile, privatePrefixOf, resolveConfig,
} from './config.js';
import { keyDef } from './config-keys.js';
import { KEY_FILES, KEY_KINDS, SIGNING_KEY_WARN_MS, readSigningCertFile, relayKeysDir } from './keys.js';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface CheckResult {
  readonly status: CheckStatus;
  /** What was checked, e.g. "exit policy". */
  readonly name: string;
  readonly detail: string;
  /** How to fix it (fail and warn). */
  readonly fix?: string;
}

export interface RelayCheckOptions {
  readonly file?: string;
  readonly overrides?: Readonly<Record<string, OverrideValue>>;
  readonly cwd?: string;
  readonly provider: CryptoProvider;
  readonly rng: Rng;
  /** ms since the epoch (default Date.now()). */
  readonly now?: number;
  /** Time allowed to the self-test handshake (default 5 s). */
  readonly selfTestTimeoutMs?: number;
}

const ok = (name: string, detail: string): CheckResult => ({ status: 'ok', name, detail });
const warn = (name: string, detail: string, fix: string): CheckResult => ({ status: 'warn', name, detail, fix });
const fail = (name: string, detail: string, fix: string): CheckResult => ({ status: 'fail', name, detail, fix });
const message = (e: unknown): string => (isChiveError(e) ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e));

/** Runs every check; see the module comment. */
export async function runRelayChecks(options: RelayCheckOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  let source: ConfigSource;
  try {
    const fromFile = options.file === undefined ? emptyConfig() : await loadConfigFile(options.file);
    source = applyOverrides(fromFile, options.overrides ?? {}, options.cwd);
  } catch (e) {
    results.push(fail('configuration', message(e), 'fix the line or flag named above (chive relay --help lists every key)'));
    return results;
  }
  const policy = checkExitPolicySource(source);
  let config: RelayConfig;
  try {
    config = resolveConfig(policy.cleaned);
  } catch (e) {
    results.push(fail('configuration', message(e), 'fix the key named above (docs/RELAY.md, "Checks across keys")'));
    results.push(...policy.results);
    return results;
  }
  results.push(ok('configuration', `${options.file ?? 'flags'}: every key parses and the keys agree`));
  results.push(...(policy.results.length > 0 ? policy.results : [checkEffectiveExitPolicy(config)]));
  results.push(checkFamily(config));
  results.push(checkNetworkFile(config));
  results.push(...checkKeyFiles(config, options));
  const bind = await checkBind(config);
  results.push(bind.result);
  if (config.metricsPort > 0) results.push(await checkMetricsPort(config));
  if (config.logFile !== undefined) results.push(checkLogFile(config.logFile));
  results.push(await selfTest(config, bind.free, options));
  return results;
}

/** ✓ / ! / ✗ lines, each failing or warning one followed by its fix. */
export function formatCheckResults(results: readonly CheckResult[]): string {
  const mark = { ok: '✓', warn: '!', fail: '✗' } as const;
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${mark[r.status]} ${r.name}: ${r.detail}`);
    if (r.fix !== undefined && r.status !== 'ok') lines.push(`    fix: ${r.fix}`);
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  lines.push(failed === 0 ? 'all is well' : `${failed} problem${failed === 1 ? '' : 's'} to fix`);
  return lines.join('\n') + '\n';
}

// --- configuration ----------------------------------------------------------------------

/**
 * Outside a testnet, an accept rule lying wholly inside a private range (resolveConfig
 * refuses those): reported here as the exit-policy problem it is, and removed so that the
 * other checks can go on.
 */
function checkExitPolicySource(source: ConfigSource): { results: CheckResult[]; cleaned: ConfigSource } {
  const testnetText = source.values.get('testnet')?.[0]?.text;
  const testnet = testnetText !== undefined && keyDef('testnet').parse(testnetText, { baseDir: '.' }) === true;
  const lines = source.values.get('exitPolicy') ?? [];
  if (testnet || lines.length === 0) return { results: [], cleaned: source };
  const results: CheckResult[] = [];
  const kept = lines.filter((line) => {
    const bad = parseExitPolicy(line.text).filter((rule) => rule.action === 'accept' && privatePrefixOf(rule.address, rule.maskBits) !== undefined);
    for (const rule of bad) {
      results.push(
        fail(
          'exit policy',
          `${line.where}: "${formatExitPolicy([rule])}" accepts private addresses (${privatePrefixOf(rule.address, rule.maskBits)}) outside a testnet`,
          'remove the rule (exits never reach private networks), or set Testnet 1 for a local test network',
        ),
      );
    }
    return bad.length === 0;
  });
  const values = new Map(source.values);
  values.set('exitPolicy', kept);
  return { results, cleaned: { values } };
}

/** The resolved policy must reject every private range and the relay's own address outside a testnet. */
function checkEffectiveExitPolicy(config: RelayConfig): CheckResult {
  const policy = parseExitPolicy(config.exitPolicy.join('\n'));
  if (!policy.some((r) => r.action === 'accept')) return ok('exit policy', 'not an exit (reject *:*)');
  const text = formatExitPolicy(policy.filter((r) => r.action === 'accept'));
  if (config.testnet) return ok('exit policy', `accepts ${text} (Testnet 1: private addresses allowed)`);
  const leaks = PRIVATE_IPV4_PREFIXES.filter(([net]) => {
    const base = parseIpv4(net)!;
    return [1, 80, 443, 65535].some((port) => exitPolicyAllows(policy, formatIpAt(base + 1), port));
  });
  if (leaks.length > 0) {
    return fail('exit policy', `allows private ranges ${leaks.map(([n, b]) => `${n}/${b}`).join(', ')}`, 'put "reject <range>:*" rules before the accept rules');
  }
  return ok('exit policy', `accepts ${text}; private ranges and this relay's own address are rejected`);
}

function formatIpAt(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function checkFamily(config: RelayConfig): CheckResult {
  if (config.family.length > 0 && config.contactInfo === undefined) {
    return fail(
      'family',
      `Family lists ${config.family.length} relay${config.family.length === 1 ? '' : 's'} but ContactInfo is not set`,
      'set ContactInfo (an e-mail address or URL): whoever runs several relays must be reachable',
    );
  }
  if (config.contactInfo === undefined) return warn('contact', 'no ContactInfo', 'set ContactInfo so that the network can tell you about problems with your relay');
  return ok('family', config.family.length > 0 ? `${config.family.length} relay(s), with ContactInfo` : 'no family; ContactInfo set');
}

function checkNetworkFile(config: RelayConfig): CheckResult {
  if (config.network === undefined) return warn('network', 'no Network file: the relay will publish no descriptor and join no network', 'set Network to the network.json of the network to join');
  try {
    const network = loadNetworkFile(config.network);
    if (network.testnet !== config.testnet) {
      return warn('network', `${config.network} is ${network.testnet ? 'a testnet' : 'not a testnet'} but Testnet is ${config.testnet ? 1 : 0}`, `set Testnet ${network.testnet ? 1 : 0}`);
    }
    return ok('network', `${config.network}: ${network.authorities.length} authorities`);
  } catch (e) {
    return fail('network', message(e), 'point Network at a readable network.json (chive testnet writes one)');
  }
}

// --- files --------------------------------------------------------------------------------

function checkKeyFiles(config: RelayConfig, options: RelayCheckOptions): CheckResult[] {
  const out: CheckResult[] = [];
  const dir = config.dataDirectory;
  if (!existsSync(dir)) return [ok('data directory', `${dir} does not exist yet: the relay creates it (mode 0700) with its keys`)];
  const dirMode = statSync(dir).mode & 0o777;
  out.push(
    (dirMode & 0o077) !== 0
      ? fail('data directory', `${dir} is open to group or others (mode ${dirMode.toString(8)})`, `chmod 700 ${dir}`)
      : ok('data directory', `${dir} (mode ${dirMode.toString(8)})`),
  );
  const keysDir = relayKeysDir(dir);
  if (!existsSync(keysDir)) return [...out, ok('keys', 'none yet: the relay makes them on its first start (or run chive relay keygen)')];
  const kinds: Record<string, string> = {
    [KEY_FILES.identity]: KEY_KINDS.identity, [KEY_FILES.signing]: KEY_KINDS.signing, [KEY_FILES.link]: KEY_KINDS.link,
    [KEY_FILES.onion]: KEY_KINDS.onion, [KEY_FILES.onionPrevious]: KEY_KINDS.onion,
  };
  let bad = 0;
  for (const name of readdirSync(keysDir).sort()) {
    const path = join(keysDir, name);
    const mode = statSync(path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      bad += 1;
      out.push(fail('key file', `${path} is readable by group or others (mode ${mode.toString(8)})`, `chmod 600 ${path}`));
      continue;
    }
    const kind = kinds[name];
    if (kind === undefined) continue;
    try {
      readKeyFile(path, kind, 32).fill(0);
    } catch (e) {
      bad += 1;
      out.push(fail('key file', message(e), `restore ${path} from a backup, or delete it to get a new key (a new identity is a new relay)`));
    }
  }
  if (bad === 0) out.push(ok('key files', `${keysDir}: every file mode 0600, every key readable`));
  out.push(checkIdentity(keysDir, options));
  return out;
}

function checkIdentity(keysDir: string, options: RelayCheckOptions): CheckResult {
  const online = existsSync(join(keysDir, KEY_FILES.identity));
  const signing = existsSync(join(keysDir, KEY_FILES.signing)) && existsSync(join(keysDir, KEY_FILES.signingCert));
  if (online && signing) {
    return warn('identity', 'identity.key is in the data directory, so the signing key there is unused', 'to keep the identity offline: chive relay keygen --identity-key <offline path> (it moves identity.key there)');
  }
  if (online) return ok('identity', 'online (keys/identity.key); back it up: it is the relay\'s name');
  if (!signing) return ok('identity', 'none yet: made on first start');
  const now = options.now ?? Date.now();
  try {
    const { cert } = readSigningCertFile(options.provider, join(keysDir, KEY_FILES.signingCert));
    const left = cert.expires - now;
    const renew = 'chive relay keygen --data-directory <DataDirectory> --identity-key <your offline identity.key>';
    if (left <= 0) return fail('signing key', `expired at ${new Date(cert.expires).toISOString()}: the relay will not start`, renew);
    if (left < SIGNING_KEY_WARN_MS) return fail('signing key', `expires in ${formatApproxDuration(left)} (${new Date(cert.expires).toISOString()})`, renew);
    return ok('signing key', `identity offline; signing key valid until ${new Date(cert.expires).toISOString()}`);
  } catch (e) {
    return fail('signing key', message(e), 'run chive relay keygen --identity-key <your offline identity.key> to make a new one');
  }
}

function checkLogFile(logFile: string): CheckResult {
  const dir = dirname(logFile);
  try {
    accessSync(existsSync(logFile) ? logFile : dir, fsConstants.W_OK);
    return ok('log file', `${logFile} is writable`);
  } catch {
    return fail('log file', `cannot write ${logFile}`, `create ${dir} and give the relay's user write access to it`);
  }
}

// --- network ------------------------------------------------------------------------------

/** Tries to listen on host:port; the error code when it cannot. */
function tryListen(host: string, port: number): Promise<{ port: number } | { code: string }> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve({ code: e.code ?? e.message }));
    server.listen({ host, port, exclusive: true }, () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => resolve({ port: bound }));
    });
  });
}

async function checkBind(config: RelayConfig): Promise<{ result: CheckResult; free: boolean }> {
  const where = `${config.address}:${config.orPort}`;
  const r = await tryListen(config.address, config.orPort);
  if ('port' in r) return { result: ok('address', `${where} can be bound`), free: true };
  if (r.code === 'EADDRINUSE') return { result: ok('address', `${where} is in use (the relay running?): the self-test dials it`), free: false };
  const fix =
    r.code === 'EACCES'
      ? 'use an ORPort of 1024 or more, or grant CAP_NET_BIND_SERVICE (see the systemd unit in docs/RELAY.md)'
      : 'set Address to an address of this machine (or 0.0.0.0, with AdvertisedURL)';
  return { result: fail('address', `cannot listen on ${where}: ${r.code}`, fix), free: false };
}

async function checkMetricsPort(config: RelayConfig): Promise<CheckResult> {
  const host = config.metricsAddress ?? '127.0.0.1';
  const r = await tryListen(host, config.metricsPort);
  if ('port' in r) return ok('metrics', `${host}:${config.metricsPort} can be bound (chive monitor --port ${config.metricsPort})`);
  if (r.code === 'EADDRINUSE') return warn('metrics', `${host}:${config.metricsPort} is in use`, 'if the relay is not running, pick another MetricsPort');
  return fail('metrics', `cannot listen on ${host}:${config.metricsPort}: ${r.code}`, 'pick another MetricsPort or MetricsAddress');
}

/** The link key the relay will present: from its data directory, or a throwaway one for a relay not made yet. */
function linkSecretOf(config: RelayConfig, options: RelayCheckOptions): Uint8Array {
  const path = join(relayKeysDir(config.dataDirectory), KEY_FILES.link);
  try {
    return readKeyFile(path, KEY_KINDS.link, 32);
  } catch {
    return options.rng(32);
  }
}

async function selfTest(config: RelayConfig, portFree: boolean, options: RelayCheckOptions): Promise<CheckResult> {
  const name = 'reachability';
  const secret = linkSecretOf(config, options);
  const linkKey = options.provider.x25519PublicKey(secret);
  let server: LinkServer | null = null;
  try {
    if (portFree) {
      server = await startLinkServer({
        provider: options.provider, rng: options.rng, host: config.address, port: config.orPort, linkStaticSecret: secret,
        maxLinks: 4, allowXK: false, onLink: (link) => link.close('self-test done'),
      });
    }
    const url = config.advertisedUrl ?? (server ? `ws://${config.address}:${server.port}` : `ws://${config.address}:${config.orPort}`);
    const host = parseRelayAddress(url)?.host ?? config.address;
    if (parseIpv4(host) === undefined) {
      try {
        await lookup(host, { family: 4 });
      } catch {
        return fail(name, `${host} (AdvertisedURL) does not resolve`, 'publish a DNS A record for it, or use the public IPv4 address in AdvertisedURL');
      }
    }
    const t0 = performance.now();
    const link = await connectLink({ provider: options.provider, rng: options.rng, url, pattern: 'NK', remoteStatic: linkKey, timeoutMs: options.selfTestTimeoutMs ?? 5000 });
    const ms = performance.now() - t0;
    link.close('self-test done');
    return ok(name, `Noise NK handshake with ${url} in ${ms.toFixed(0)} ms${server ? ' (a temporary listener on ORPort)' : ' (the running relay)'}`);
  } catch (e) {
    const port = config.advertisedUrl ? parseRelayAddress(config.advertisedUrl)?.port : config.orPort;
    const code = isChiveError(e) ? e.code : '';
    const fix =
      code === 'HANDSHAKE_FAILED' || code === 'LINK_HANDSHAKE_TIMEOUT'
        ? "something answers at AdvertisedURL without this relay's link key: another program on that port, or AdvertisedURL names another machine"
        : `let TCP port ${port} in through the firewall / NAT to ${config.address}:${config.orPort}, and check that AdvertisedURL names this machine`;
    return fail(name, `no Noise NK handshake with the advertised address: ${message(e)}`, fix);
  } finally {
    secret.fill(0);
    await server?.close();
  }
}

/**
 * `chive relay`: runs a relay daemon from a torrc-like file plus flags that override it.
 *
 *   chive relay --config relay.conf [--ORPort 0 --DataDirectory d ...]
 *   chive relay --help            every configuration key, with its default
 *   chive relay --print-config    the effective configuration, then exit
 *   chive relay check [--config relay.conf] [--Key value ...]
 *                                 ✓ / ✗ for the configuration, files and reachability (relay/check.ts)
 *   chive relay keygen [--config relay.conf | --data-directory DIR] [--identity-key FILE]
 *                      [--signing-key-lifetime DURATION]
 *                                 make the keys; keep the identity offline (relay/keygen.ts)
 *
 * On start it prints one JSON line on stdout, {"event":"listening","url":…,"identity":…},
 * for scripts (the testnet launcher waits for it); logs go to stderr or LogFile.
 * SIGINT / SIGTERM stop it cleanly. Not the daemon's logic (relay/daemon.ts).
 */
import { randomBytes } from 'node:crypto';
import { toHex } from '../src/bytes.js';
import { loadCryptoProvider } from '../src/crypto/load.js';
import type { Rng } from '../src/crypto/provider.js';
import { isChiveError } from '../src/errors.js';
import { formatCheckResults, runRelayChecks } from './check.js';
import {
  applyOverrides, configHelpText, configValue, emptyConfig, extractConfigFlags, formatApproxDuration, formatConfig, loadConfigFile,
  loadRelayConfig, parseDuration,
} from './config.js';
import { startDaemon } from './daemon.js';
import { runKeygen } from './keygen.js';
import { createLogger } from './log.js';

const USAGE = `usage: chive relay [--config FILE] [--<Key> VALUE ...] [--print-config] [--help]
       chive relay check [--config FILE] [--<Key> VALUE ...]
       chive relay keygen [--config FILE | --data-directory DIR] [--identity-key FILE] [--signing-key-lifetime DURATION]

Runs a chive relay. Every configuration key can be given in FILE ("Key value" lines) or
as a flag (--ORPort 9001 or --or-port 9001); flags win.

  check    checks the configuration, the key files, the ports and that the advertised
           address reaches this relay (a Noise handshake); exit code 0 only when all is well
  keygen   makes the relay's keys in DataDirectory. With --identity-key FILE the identity
           key lives only in FILE (moved there from DataDirectory if it was there) and a
           signing key certified for --signing-key-lifetime (default 30 days) signs for it;
           run it again before then to renew. See docs/RELAY.md.

`;

const KEYGEN_USAGE = 'usage: chive relay keygen [--config FILE | --data-directory DIR] [--identity-key FILE] [--signing-key-lifetime DURATION]\n';

const rng: Rng = (n) => new Uint8Array(randomBytes(n));

function errorText(e: unknown): string {
  return isChiveError(e) ? `${e.code}: ${e.message}` : String(e);
}

/** Config flags and the rest of argv, or null (usage error printed) */
function splitFlags(argv: string[], command: string): { overrides: Record<string, string[]>; rest: string[] } | null {
  try {
    return extractConfigFlags(argv);
  } catch (e) {
    process.stderr.write(`${command}: ${(e as Error).message}\n`);
    return null;
  }
}

/** `chive relay check`: prints ✓ / ✗ lines; 0 when nothing failed, 1 otherwise, 2 on bad usage. */
async function runCheckCommand(argv: string[]): Promise<number> {
  const split = splitFlags(argv, 'chive relay check');
  if (!split) return 2;
  let file: string | undefined;
  for (let i = 0; i < split.rest.length; i++) {
    const a = split.rest[i]!;
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else if (a === '--config' || a === '-f') file = split.rest[++i];
    else if (a.startsWith('--config=')) file = a.slice(9);
    else {
      process.stderr.write(`chive relay check: unknown option ${a} (see chive relay --help)\n`);
      return 2;
    }
  }
  const provider = loadCryptoProvider('auto', () => undefined);
  const results = await runRelayChecks({ file, overrides: split.overrides, provider, rng });
  process.stdout.write(`chive relay check${file ? ` ${file}` : ''}\n` + formatCheckResults(results));
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

/** `chive relay keygen`: see relay/keygen.ts. */
async function runKeygenCommand(argv: string[]): Promise<number> {
  const split = splitFlags(argv, 'chive relay keygen');
  if (!split) return 2;
  let file: string | undefined;
  let identityKeyFile: string | undefined;
  let lifetimeMs: number | undefined;
  const rest = split.rest;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = (): string | undefined => (a.includes('=') ? a.slice(a.indexOf('=') + 1) : rest[++i]);
    if (a === '--help' || a === '-h') {
      process.stdout.write(KEYGEN_USAGE);
      return 0;
    } else if (a === '--config' || a === '-f' || a.startsWith('--config=')) file = value();
    else if (a === '--identity-key' || a.startsWith('--identity-key=')) identityKeyFile = value();
    else if (a === '--signing-key-lifetime' || a.startsWith('--signing-key-lifetime=')) {
      try {
        lifetimeMs = parseDuration(value() ?? '');
      } catch (e) {
        process.stderr.write(`chive relay keygen: --signing-key-lifetime: ${(e as Error).message}\n`);
        return 2;
      }
    } else {
      process.stderr.write(`chive relay keygen: unknown option ${a}\n${KEYGEN_USAGE}`);
      return 2;
    }
  }
  if (lifetimeMs !== undefined && identityKeyFile === undefined) {
    process.stderr.write('chive relay keygen: --signing-key-lifetime needs --identity-key (a signing key is only used with an offline identity)\n');
    return 2;
  }
  try {
    const source = applyOverrides(file === undefined ? emptyConfig() : await loadConfigFile(file), split.overrides);
    const dataDir = configValue(source, 'dataDirectory');
    if (dataDir === undefined) {
      process.stderr.write(`chive relay keygen: give --data-directory DIR (or --config FILE with DataDirectory)\n${KEYGEN_USAGE}`);
      return 2;
    }
    const provider = loadCryptoProvider(configValue(source, 'cryptoProvider') ?? 'auto', (line) => process.stderr.write(line + '\n'));
    const now = Date.now();
    const r = runKeygen({ provider, rng, dataDir, identityKeyFile, signingKeyLifetimeMs: lifetimeMs, now });
    const out = [`chive relay keygen: ${dataDir}`, `identity      ${toHex(r.identity)}`];
    if (r.movedIdentity) out.push(`moved         the identity key from the data directory to ${r.identityFile}`);
    if (r.offline && identityKeyFile !== undefined) {
      out.push(`identity key  ${r.identityFile} (offline: keep it off this machine, and back it up)`);
    } else if (!r.offline) out.push(`identity key  ${r.identityFile} (online; back it up: it is the relay's name)`);
    else out.push('identity key  offline');
    if (r.signingKeyExpires !== null) {
      out.push(`signing key   certified until ${new Date(r.signingKeyExpires).toISOString()} (${formatApproxDuration(r.signingKeyExpires - now)})`);
      out.push('renew it before then (the relay warns a week ahead) with:');
      out.push(`  chive relay keygen --data-directory ${dataDir} --identity-key ${identityKeyFile ?? '<your offline identity.key>'}`);
    }
    for (const [i, w] of r.written.entries()) out.push(`${i === 0 ? 'wrote' : ''}`.padEnd(14) + w);
    if (r.written.length === 0) out.push('wrote         nothing: every key was already there');
    for (const n of r.notes) out.push(`note          ${n}`);
    process.stdout.write(out.join('\n') + '\n');
    return 0;
  } catch (e) {
    process.stderr.write(`chive relay keygen: ${errorText(e)}\n`);
    return isChiveError(e, 'CONFIG_INVALID') ? 2 : 1;
  }
}

export async function runRelayCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'check') return runCheckCommand(argv.slice(1));
  if (argv[0] === 'keygen') return runKeygenCommand(argv.slice(1));
  let configFile: string | undefined;
  let printConfig = false;
  const { overrides, rest } = (() => {
    try {
      return extractConfigFlags(argv);
    } catch (e) {
      process.stderr.write(`chive relay: ${(e as Error).message}\n`);
      return { overrides: null, rest: [] };
    }
  })();
  if (!overrides) return 2;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE + configHelpText());
      return 0;
    } else if (a === '--config' || a === '-f') configFile = rest[++i];
    else if (a.startsWith('--config=')) configFile = a.slice(9);
    else if (a === '--print-config') printConfig = true;
    else {
      process.stderr.write(`chive relay: unknown option ${a} (see chive relay --help)\n`);
      return 2;
    }
  }
  let config;
  try {
    config = await loadRelayConfig({ file: configFile, overrides });
  } catch (e) {
    process.stderr.write(`chive relay: ${isChiveError(e) ? `${e.code}: ${e.message}` : String(e)}\n`);
    return 2;
  }
  if (printConfig) {
    process.stdout.write(formatConfig(config));
    return 0;
  }
  const log = createLogger({ level: config.logLevel, file: config.logFile, name: config.nickname });
  let daemon;
  try {
    daemon = await startDaemon(config, log);
  } catch (e) {
    log.error({ code: isChiveError(e) ? e.code : 'UNKNOWN' }, `relay failed to start: ${(e as Error).message}`);
    await log.close();
    process.stderr.write(`chive relay: ${isChiveError(e) ? `${e.code}: ${e.message}` : String(e)}\n`);
    return 1;
  }
  process.stdout.write(
    JSON.stringify({
      event: 'listening',
      url: daemon.url,
      identity: toHex(daemon.relay.keys.identity),
      metricsUrl: daemon.metricsUrl,
    }) + '\n',
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await daemon.stop();
  await log.close();
  return 0;
}

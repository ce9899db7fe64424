/**
 * `chive relay`: runs a relay daemon from a torrc-like file plus flags that override it.
 *
 *   chive relay --config relay.conf [--ORPort 0 --DataDirectory d ...]
 *   chive relay --help            every configuration key, with its default
 *   chive relay --print-config    the effective configuration, then exit
 *
 * On start it prints one JSON line on stdout, {"event":"listening","url":…,"identity":…},
 * for scripts (the testnet launcher waits for it); logs go to stderr or LogFile.
 * SIGINT / SIGTERM stop it cleanly. Not the daemon's logic (relay/daemon.ts).
 */
import { toHex } from '../src/bytes.js';
import { isChiveError } from '../src/errors.js';
import { configHelpText, extractConfigFlags, formatConfig, loadRelayConfig } from './config.js';
import { startDaemon } from './daemon.js';
import { createLogger } from './log.js';

const USAGE = `usage: chive relay [--config FILE] [--<Key> VALUE ...] [--print-config] [--help]

Runs a chive relay. Every configuration key can be given in FILE ("Key value" lines) or
as a flag (--ORPort 9001 or --or-port 9001); flags win.

`;

export async function runRelayCommand(argv: string[]): Promise<number> {
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

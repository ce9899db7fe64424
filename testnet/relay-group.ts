/**
 * Several relays in one OS process, for `chive testnet --relays-per-process N`:
 *
 *   chive testnet run-relays '<JSON: [["--DataDirectory", "/x/relay0", "--Nickname", "relay0", …], …]>'
 *
 * Each inner array is exactly the flags `chive relay` would get for that relay; each relay
 * keeps its own keys, data directory, ORPort, metrics port and log file, as it would in a
 * process of its own — only the event loop (and so the process's RSS, CPU time and open
 * handles) is shared. Saving a Node.js start-up per relay (~1.4 s of CPU with tsx) is what
 * makes a 100-relay testnet start in well under a minute on two cores.
 *
 * On stdout, one line per relay once it serves, like `chive relay`'s but with its nickname:
 * `{"event":"listening","nickname":"relay3","url":…,"identity":…,"metricsUrl":…}`. If one
 * relay fails to start, the group stops the others and exits 1 (the launcher treats the
 * whole group as failed). SIGINT / SIGTERM stop every relay cleanly, then exit 0.
 *
 * Not the launcher's grouping of relays (launcher.ts), and no relay logic: it composes the
 * relay role's own config reader and daemon (relay/config.ts, relay/daemon.ts).
 */
import { toHex } from '../src/bytes.js';
import { isChiveError } from '../src/errors.js';
import { extractConfigFlags, loadRelayConfig, type RelayConfig } from '../relay/config.js';
import { type RunningDaemon, startDaemon } from '../relay/daemon.js';
import { type RelayLogger, createLogger } from '../relay/log.js';

/** The hidden `chive testnet` subcommand that runs a relay group. */
export const RUN_RELAYS_SUBCOMMAND = 'run-relays';

/** Most relays one group process may run. */
export const MAX_RELAYS_PER_PROCESS = 50;

interface Member {
  readonly config: RelayConfig;
  readonly log: RelayLogger;
  daemon: RunningDaemon | null;
}

function describe(e: unknown): string {
  return isChiveError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
}

/** Parses the JSON argument: a non-empty array of string arrays. */
export function parseRelayGroupArgument(text: string | undefined): string[][] {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch {
    throw new Error(`${RUN_RELAYS_SUBCOMMAND} takes one JSON argument: an array of each relay's \`chive relay\` flags`);
  }
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_RELAYS_PER_PROCESS
    || !value.every((argv) => Array.isArray(argv) && argv.every((a) => typeof a === 'string'))) {
    throw new Error(`${RUN_RELAYS_SUBCOMMAND}: expected an array of 1..${MAX_RELAYS_PER_PROCESS} arrays of strings`);
  }
  return value as string[][];
}

/** Runs the group until SIGINT / SIGTERM; resolves with the exit code (2 bad usage, 1 a relay failed). */
export async function runRelayGroupCommand(argv: readonly string[]): Promise<number> {
  let argvs: string[][];
  const configs: RelayConfig[] = [];
  try {
    if (argv.length !== 1) throw new Error(`${RUN_RELAYS_SUBCOMMAND} takes exactly one argument`);
    argvs = parseRelayGroupArgument(argv[0]);
    for (const relayArgv of argvs) {
      const { overrides, rest } = extractConfigFlags(relayArgv);
      if (rest.length > 0) throw new Error(`not a relay configuration flag: ${rest[0]}`);
      configs.push(await loadRelayConfig({ overrides }));
    }
  } catch (e) {
    process.stderr.write(`chive testnet ${RUN_RELAYS_SUBCOMMAND}: ${describe(e)}\n`);
    return 2;
  }

  const members: Member[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(members.map(async (m) => {
      await m.daemon?.stop();
      await m.log.close();
    }));
  };
  let stopRequested: () => void = () => {};
  const stopSignal = new Promise<void>((resolve) => (stopRequested = resolve));
  process.once('SIGINT', () => stopRequested());
  process.once('SIGTERM', () => stopRequested());

  const failures: string[] = [];
  await Promise.all(configs.map(async (config) => {
    let log: RelayLogger;
    try {
      log = createLogger({ level: config.logLevel, file: config.logFile, name: config.nickname });
    } catch (e) {
      failures.push(`${config.nickname}: ${describe(e)}`);
      return;
    }
    const member: Member = { config, log, daemon: null };
    members.push(member);
    try {
      member.daemon = await startDaemon(config, log);
    } catch (e) {
      log.error({ code: isChiveError(e) ? e.code : 'UNKNOWN' }, `relay failed to start: ${(e as Error).message}`);
      failures.push(`${config.nickname}: ${describe(e)}`);
      return;
    }
    process.stdout.write(JSON.stringify({
      event: 'listening',
      nickname: config.nickname,
      url: member.daemon.url,
      identity: toHex(member.daemon.relay.keys.identity),
      metricsUrl: member.daemon.metricsUrl,
    }) + '\n');
  }));
  if (failures.length > 0) {
    for (const f of failures) process.stderr.write(`chive testnet ${RUN_RELAYS_SUBCOMMAND}: relay failed to start: ${f}\n`);
    await stopAll();
    // A daemon that failed half-way may hold timers; the group is over either way.
    process.exit(1);
  }
  await stopSignal;
  await stopAll();
  return 0;
}

/**
 * `chive testnet`: a local chive network on 127.0.0.1 (or in network namespaces) with one
 * command, one OS process per node or per group of relays, in the foreground until Ctrl-C /
 * SIGTERM.
 *
 *   chive testnet --dir /tmp/x [--authorities 3] [--relays 6] [--exits 2]
 *                 [--relays-per-process N] [--netns [--link-delay 50ms] [--relays-per-16 1]]
 *                 [--voting-interval 10s] [--base-port 0] [--ready-timeout 60s] [--json]
 *   chive testnet run-relays '<JSON>'   (internal: a relay group process, relay-group.ts)
 *
 * Progress goes to stderr ("starting relays… 3/6"); once a consensus lists every relay the
 * summary goes to stdout (text, or one JSON object with --json): the network file, each
 * authority and relay, and commands to try next. While running, a node that dies is
 * reported on stderr with the tail of its log. The first Ctrl-C / SIGTERM stops every
 * node (SIGTERM, then SIGKILL after a grace period); a second one kills them at once.
 * Exit codes: 0 after a clean stop, 1 when the network failed to start or a node died
 * while it ran, 2 on bad usage, 130 when interrupted before it was ready.
 *
 * Not here: the process orchestration (launcher.ts).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isChiveError } from '../src/errors.js';
import { MAX_VOTING_INTERVAL_MS, MIN_VOTING_INTERVAL_MS, TESTNET_TIMING } from '../src/io/network-file.js';
import { DEFAULT_STOP_GRACE_MS } from './node-process.js';
import { AUTO_MAX_RELAY_PROCESSES, DEFAULT_AUTHORITIES, DEFAULT_EXITS, DEFAULT_RELAYS, MAX_TESTNET_RELAYS, NETNS_EXIT_POLICY, TESTNET_EXIT_POLICY, type Testnet, launchTestnet } from './launcher.js';
import { MAX_RELAYS_PER_PROCESS, RUN_RELAYS_SUBCOMMAND, runRelayGroupCommand } from './relay-group.js';

interface Flags {
  dir: string;
  authorities: number;
  relays: number;
  exits?: number;
  relaysPerProcess: number | 'auto';
  netns?: boolean;
  linkDelay?: number;
  linkDelayMethod: 'auto' | 'netem' | 'nfqueue';
  relaysPer16: number;
  votingInterval: number;
  basePort: number;
  readyTimeout?: number;
  stopGrace: number;
  json?: boolean;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 };

/** "10s", "1500ms", "2 min", "1h"; a bare number is seconds. */
export function parseDurationMs(text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|sec|m|min|h)?\s*$/.exec(text);
  if (!m) throw new InvalidArgumentError('expected a duration such as 10s, 1500ms or 2min');
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}

function wholeNumber(min: number, max: number): (text: string) => number {
  return (text) => {
    if (!/^[0-9]+$/.test(text) || Number(text) < min || Number(text) > max) throw new InvalidArgumentError(`expected a whole number in ${min}..${max}`);
    return Number(text);
  };
}

function votingInterval(text: string): number {
  const ms = parseDurationMs(text);
  if (ms < MIN_VOTING_INTERVAL_MS || ms > MAX_VOTING_INTERVAL_MS) throw new InvalidArgumentError(`expected between ${MIN_VOTING_INTERVAL_MS / 1000}s and ${MAX_VOTING_INTERVAL_MS / 3_600_000}h`);
  return ms;
}

const FLAG_WORDS: Record<string, string> = { RUNNING: 'Running', STABLE: 'Stable', GUARD: 'Guard', EXIT: 'Exit', HSDIR: 'HSDir', FAST: 'Fast' };

/** The human summary printed once the network is ready. */
export function formatSummary(net: Testnet): string {
  const pad = (s: string, n: number): string => s.padEnd(n);
  const short = (hex: string): string => `${hex.slice(0, 16)}…`;
  const authW = Math.max(...net.authorities.map((a) => a.url.length));
  const relayW = Math.max(...net.relays.map((r) => r.url.length));
  const nickW = Math.max(6, ...net.relays.map((r) => r.nickname.length));
  const flagsOf = (flags: readonly string[]): string => flags.map((f) => FLAG_WORDS[f] ?? f).join(' ') || '(not listed)';
  const flagW = Math.max(...net.relays.map((r) => flagsOf(r.flags).length));
  const exitRelay = net.relays.find((r) => r.exit);
  const relayProcesses = net.processes.filter((p) => p.role === 'relay').length;
  const plan = net.netns;
  const lines = [
    `chive testnet ready in ${(net.readyMs / 1000).toFixed(1)} s: ${net.authorities.length} authorities, ${net.relays.length} relays (${net.relays.filter((r) => r.exit).length} exits)`
      + (net.relaysPerProcess > 1 ? ` in ${relayProcesses} processes of up to ${net.relaysPerProcess}` : ''),
    '',
    `network file  ${net.networkFile}`,
    `voting        every ${net.network.timing.votingIntervalMs / 1000} s (consensus fresh ${net.network.timing.freshIntervals}, valid ${net.network.timing.validIntervals} periods)`,
    ...(plan ? [
      `namespaces    ${plan.namespaces.length} on bridge ${plan.bridge} (host ${plan.hostAddress}), link delay ${plan.linkDelayMs} ms one way`
        + `${plan.linkDelayMs > 0 ? ` (${plan.linkDelayMethod})` : ''}; `
        + `clients: ip netns exec ${plan.clientNamespaces[0] ?? '<namespace>'} …`,
    ] : []),
    '',
    'authorities',
    ...net.authorities.map((a) => `  ${pad(a.name, nickW)}  ${pad(a.url, authW)}  ${short(a.identity)}  pid ${a.pid}`),
    '',
    'relays',
    ...net.relays.map((r) =>
      `  ${pad(r.nickname, nickW)}  ${pad(r.url, relayW)}  ${short(r.identity)}  ${pad(flagsOf(r.flags), flagW)}  exit ${r.exit ? 'yes' : 'no '}  ${r.metricsUrl ? `${r.metricsUrl}/metrics` : '(no metrics)'}`),
    '',
    `logs: <folder>/log of each node, e.g. ${net.relays[0]?.logFile ?? net.authorities[0]!.logFile}`,
    '',
    'try next, in another terminal:',
    ...(plan ? [
      `  chive bench --serve ${plan.hostAddress}:9999 &                 # a target on the host`,
      `  ip netns exec ${plan.clientNamespaces[0] ?? '<namespace>'} chive bench --network ${net.networkFile} --target ${plan.hostAddress}:9999`,
      exitRelay ? `(exits allow ${TESTNET_EXIT_POLICY} and ${NETNS_EXIT_POLICY}: the host and the clients' namespaces)` : '(no exit relay: streams cannot leave the network)',
    ] : [
      `  chive socks --network ${net.networkFile} --port 9050`,
      '  python3 -m http.server 8000 --bind 127.0.0.1      # any server on 127.0.0.1',
      '  curl --socks5-hostname 127.0.0.1:9050 http://127.0.0.1:8000/',
      exitRelay ? `(exits allow ${TESTNET_EXIT_POLICY}: targets on this machine only)` : '(no exit relay: streams cannot leave the network; use --exits 1 or more)',
    ]),
    '',
    'Ctrl-C stops every node.',
  ];
  return lines.join('\n') + '\n';
}

/** The --json summary: one object. */
export function summaryJson(net: Testnet): Record<string, unknown> {
  return {
    event: 'ready',
    networkFile: net.networkFile,
    readyMs: net.readyMs,
    timing: net.network.timing,
    authorities: net.authorities.map((a) => ({ name: a.name, url: a.url, identity: a.identity, pid: a.pid, dataDir: a.dataDir, logFile: a.logFile })),
    relaysPerProcess: net.relaysPerProcess,
    relays: net.relays.map((r) => ({
      nickname: r.nickname, url: r.url, identity: r.identity, exit: r.exit, flags: r.flags, metricsUrl: r.metricsUrl,
      pid: r.pid, process: r.process, dataDir: r.dataDir, logFile: r.logFile,
    })),
    processes: net.processes,
    netns: net.netns && {
      bridge: net.netns.bridge, hostAddress: net.netns.hostAddress, linkDelayMs: net.netns.linkDelayMs, linkDelayMethod: net.netns.linkDelayMethod,
      clientNamespaces: net.netns.clientNamespaces, clientAddresses: net.netns.clientAddresses,
      namespaces: net.netns.namespaces.map((ns) => ({ name: ns.name, role: ns.role, addresses: ns.addresses })),
    },
  };
}

function errorText(e: unknown): string {
  return isChiveError(e) ? `${e.message} (${e.code})` : e instanceof Error ? e.message : String(e);
}

/** Runs `chive testnet` with `argv` (the arguments after `testnet`); resolves with the exit code. */
export async function runTestnetCommand(argv: readonly string[]): Promise<number> {
  if (argv[0] === RUN_RELAYS_SUBCOMMAND) return runRelayGroupCommand(argv.slice(1));
  const out = (s: string): void => void process.stdout.write(s);
  const err = (s: string): void => void process.stderr.write(s);
  const program = new Command('chive testnet')
    .description('Start a local chive network on 127.0.0.1 (or, with --netns, in network namespaces): directory authorities '
      + 'and relays, one OS process each or several relays per process, each node with its own keys, ports, folder '
      + '<dir>/<name>/ and log <dir>/<name>/log. Writes <dir>/network.json, waits until '
      + 'a consensus lists every relay, prints a summary, and runs until Ctrl-C / SIGTERM (a second one kills the nodes at once).')
    .requiredOption('--dir <path>', 'folder for network.json and the nodes\' folders (created if missing; an earlier run\'s keys are reused)')
    .option('--authorities <n>', 'number of directory authorities', wholeNumber(1, 32), DEFAULT_AUTHORITIES)
    .option('--relays <n>', 'number of relays', wholeNumber(1, MAX_TESTNET_RELAYS), DEFAULT_RELAYS)
    .option('--exits <n>', `how many relays are exits, with ExitPolicy "${TESTNET_EXIT_POLICY}" (default: ${DEFAULT_EXITS}, at most --relays)`, wholeNumber(0, MAX_TESTNET_RELAYS))
    .option('--relays-per-process <n|auto>', 'relays sharing one OS process (each keeps its own keys, ports, folder and log); '
      + `auto: one each up to ${AUTO_MAX_RELAY_PROCESSES} relays (and with --netns), else at most ${AUTO_MAX_RELAY_PROCESSES} relay processes`,
    (text) => (text === 'auto' ? 'auto' as const : wholeNumber(1, MAX_RELAYS_PER_PROCESS)(text)), 'auto')
    .option('--netns', 'Linux, as root: every process in a network namespace of its own, on a bridge, with its own '
      + 'address (host 10.0.0.1, authorities 10.0.1.x, relays a /16 each: 10.K.0.1); see docs/DEPLOY.md')
    .option('--link-delay <duration>', 'with --netns: one-way delay added to every packet a node sends, e.g. 50ms', parseDurationMs)
    .addOption(new Option('--link-delay-method <method>', 'with --link-delay: netem (kernel qdisc), nfqueue (user space: iptables + python3, '
      + 'for kernels without netem), or auto (netem when the kernel has it)').choices(['auto', 'netem', 'nfqueue']).default('auto'))
    .option('--relays-per-16 <n>', 'with --netns: relays sharing one /16 network (1: each relay its own)', wholeNumber(1, MAX_TESTNET_RELAYS), 1)
    .addOption(new Option('--voting-interval <duration>', 'length of a consensus period (e.g. 10s, 2s, 1min)')
      .argParser(votingInterval).default(TESTNET_TIMING.votingIntervalMs, `${TESTNET_TIMING.votingIntervalMs / 1000}s`))
    .option('--base-port <port>', 'first port: authorities at base.., then relay ORPorts, then relay metrics ports; 0 = free ports', wholeNumber(0, 65535), 0)
    .option('--ready-timeout <duration>', 'give up when no consensus lists every relay by then (default: max(60s, 4 periods + 20s))', parseDurationMs)
    .addOption(new Option('--stop-grace <duration>', 'time a node has to stop after SIGTERM before SIGKILL')
      .argParser(parseDurationMs).default(DEFAULT_STOP_GRACE_MS, `${DEFAULT_STOP_GRACE_MS / 1000}s`))
    .option('--json', 'print the summary as one JSON object on stdout (for scripts)')
    .addHelpText('after', '\nExit codes: 0 clean stop, 1 failed to start or a node died, 2 bad usage, 130 interrupted while starting.\n'
      + 'Then: chive socks --network <dir>/network.json --port 9050, and curl --socks5-hostname 127.0.0.1:9050 …')
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: err });
  let flags: Flags;
  try {
    program.parse([...argv], { from: 'user' });
    flags = program.opts<Flags>();
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    throw e;
  }
  if (flags.exits !== undefined && flags.exits > flags.relays) {
    err(`chive testnet: --exits ${flags.exits} is more than --relays ${flags.relays}\n`);
    return 2;
  }
  if (!flags.netns && (flags.linkDelay !== undefined || flags.relaysPer16 !== 1 || flags.linkDelayMethod !== 'auto')) {
    err('chive testnet: --link-delay, --link-delay-method and --relays-per-16 need --netns\n');
    return 2;
  }

  const abort = new AbortController();
  let net: Testnet | null = null;
  let signals = 0;
  let stopped: () => void = () => {};
  const stopRequested = new Promise<void>((resolve) => (stopped = resolve));
  const onSignal = (sig: NodeJS.Signals): void => {
    signals += 1;
    if (signals === 1) {
      err(`\n${sig}: stopping every node (again to kill them at once)…\n`);
      abort.abort();
      stopped();
    } else {
      err(`${sig}: killing every node\n`);
      void net?.kill();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    try {
      net = await launchTestnet({
        dir: flags.dir,
        authorities: flags.authorities,
        relays: flags.relays,
        exits: flags.exits ?? Math.min(DEFAULT_EXITS, flags.relays),
        votingIntervalMs: flags.votingInterval,
        basePort: flags.basePort,
        relaysPerProcess: flags.relaysPerProcess,
        ...(flags.netns ? { netns: { linkDelayMs: flags.linkDelay ?? 0, linkDelayMethod: flags.linkDelayMethod, relaysPerSlash16: flags.relaysPer16 } } : {}),
        stopGraceMs: flags.stopGrace,
        signal: abort.signal,
        onProgress: (line) => err(`${line}\n`),
        onNodeExit: (_name, _exit, message) => {
          err(`\nnode died: ${message}\n`);
          if (net && net.deadNodes.length === net.authorities.length + net.relays.length) {
            err('every node is gone\n');
            stopped();
          }
        },
        ...(flags.readyTimeout !== undefined ? { readyTimeoutMs: flags.readyTimeout } : {}),
      });
    } catch (e) {
      if (isChiveError(e, 'TESTNET_INTERRUPTED')) {
        err('stopped before the network was ready\n');
        return 130;
      }
      err(`chive testnet: ${errorText(e)}\n`);
      return isChiveError(e, 'INVALID_ARGUMENT') ? 2 : 1;
    }
    out(flags.json ? JSON.stringify(summaryJson(net)) + '\n' : formatSummary(net));
    await stopRequested;
    await net.stop();
    err(`stopped ${net.authorities.length + net.relays.length} nodes\n`);
    if (net.deadNodes.length > 0) {
      err(`died while running: ${net.deadNodes.join(', ')}\n`);
      return 1;
    }
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

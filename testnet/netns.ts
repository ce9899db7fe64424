/**
 * Runs the plan of netns-plan.ts: checks that this machine lets us make network
 * namespaces (and netem, when a link delay is asked for), sets up the bridge, namespaces
 * and veth pairs, and tears them down again.
 *
 *   probeNetns({ linkDelay })   a throw-away namespace (and, for a link delay, a netem qdisc
 *                               or an NFQUEUE rule on its lo)
 *   chooseLinkDelayMethod       'auto': netem when the kernel has it, else nfqueue
 *   setUpNetns(plan)            removes what an earlier run with the same tag left, checks
 *                               that nothing else on the host uses 10.0.0.0/8, then runs
 *                               the setup commands (namespaces a few at a time)
 *   tearDownNetns(plan)         deletes the namespaces (their veths go with them) and the bridge
 *
 * Every failure is a ChiveError: TESTNET_NETNS_UNAVAILABLE when the machine cannot do it at
 * all — not Linux, iproute2 missing, not root / without CAP_NET_ADMIN + CAP_SYS_ADMIN, no
 * netem in the kernel, iptables or python3 missing for nfqueue — with what to do about it; TESTNET_NETNS_FAILED with the command and
 * its stderr otherwise. Commands run without a shell (argv lists).
 *
 * Not here: addresses and command lines (netns-plan.ts), starting nodes inside namespaces
 * (launcher.ts, with `ip netns exec` as the process wrapper).
 */
import { spawn } from 'node:child_process';
import { ChiveError } from '../src/errors.js';
import { type LinkDelayMethod, type NetnsPlan, NETNS_SUBNET, bridgeSetupCommands, namespaceSetupCommands, netnsExec, teardownCommands } from './netns-plan.js';

export interface CommandResult {
  /** Exit code; null when the command could not be started or was killed. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Set when the command could not be started (ENOENT: not installed). */
  readonly spawnError?: string;
}

/** Runs one argv to completion (injectable, so the sequencing is testable without root). */
export type CommandRunner = (argv: readonly string[]) => Promise<CommandResult>;

const COMMAND_TIMEOUT_MS = 15_000;
/** Namespaces set up at once. */
const SETUP_CONCURRENCY = 8;

export const spawnRunner: CommandRunner = (argv) => new Promise((resolve) => {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
  child.once('error', (e: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    resolve({ code: null, stdout, stderr, spawnError: e.code ?? e.message });
  });
  child.once('close', (code) => {
    clearTimeout(timer);
    resolve({ code, stdout, stderr });
  });
});

/** Why `argv` failed, as the error to throw (see the module comment). Pure. */
export function explainNetnsFailure(argv: readonly string[], result: CommandResult): ChiveError {
  const command = argv.join(' ');
  const said = (result.stderr || result.stdout).trim().split('\n').slice(0, 3).join(' / ');
  // Through `ip netns exec NS cmd …`, the command that matters is cmd.
  const tool = argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec' ? argv[4] ?? 'ip' : argv[0]!;
  const notFound = result.spawnError === 'ENOENT' || (tool !== argv[0] && /No such file or directory|not found/i.test(said) && /exec/i.test(said));
  if (notFound) {
    const pkg = tool === 'iptables' ? 'iptables' : tool === 'python3' ? 'python3' : 'iproute2';
    return new ChiveError('TESTNET_NETNS_UNAVAILABLE', `--netns needs \`${tool}\`, which is not installed (Debian: apt-get install ${pkg})`);
  }
  if (result.spawnError !== undefined) {
    return new ChiveError('TESTNET_NETNS_FAILED', `could not run \`${command}\`: ${result.spawnError}`);
  }
  if (/operation not permitted|permission denied|must be root|EPERM/i.test(said)) {
    return new ChiveError('TESTNET_NETNS_UNAVAILABLE',
      `\`${command}\` was refused (${said}): --netns needs root, or CAP_NET_ADMIN and CAP_SYS_ADMIN (ip netns add mounts /run/netns); run chive testnet as root, e.g. with sudo`);
  }
  if (argv.includes('netem') && /qdisc kind is unknown|unknown qdisc|no such file/i.test(said)) {
    return new ChiveError('TESTNET_NETNS_UNAVAILABLE',
      `this kernel has no netem queueing discipline, so --link-delay cannot be applied (\`${command}\`: ${said}); ` +
      'load it with `modprobe sch_netem` (CONFIG_NET_SCH_NETEM), use the user-space fallback `--link-delay-method nfqueue` ' +
      '(iptables and python3), or run without --link-delay');
  }
  if (/file exists/i.test(said)) {
    return new ChiveError('TESTNET_NETNS_FAILED', `\`${command}\`: ${said} — another netns testnet may be running, or one was left behind (ip netns list; ip netns delete NAME)`);
  }
  return new ChiveError('TESTNET_NETNS_FAILED', `\`${command}\` failed (exit code ${result.code}): ${said || '(no message)'}`);
}

async function must(run: CommandRunner, argv: readonly string[]): Promise<CommandResult> {
  const result = await run(argv);
  if (result.code !== 0) throw explainNetnsFailure(argv, result);
  return result;
}

function requireLinux(): void {
  if (process.platform !== 'linux') {
    throw new ChiveError('TESTNET_NETNS_UNAVAILABLE', `--netns uses Linux network namespaces; this is ${process.platform}`);
  }
}

/**
 * Checks that a namespace can be made here and, with `linkDelay`, that the method works
 * (a netem qdisc; or an NFQUEUE rule and python3 for nfqueue); cleans up after itself.
 * `true` means 'netem'.
 */
export async function probeNetns(options: { linkDelay: boolean | LinkDelayMethod; run?: CommandRunner; platformCheck?: boolean }): Promise<void> {
  if (options.platformCheck ?? true) requireLinux();
  const run = options.run ?? spawnRunner;
  const method = options.linkDelay === true ? 'netem' : options.linkDelay;
  const ns = `chive-probe-${process.pid}`;
  await must(run, ['ip', 'netns', 'add', ns]);
  try {
    await must(run, ['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    if (method === 'netem') await must(run, ['tc', '-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
    if (method === 'nfqueue') {
      await must(run, [...netnsExec(ns), 'iptables', '-A', 'OUTPUT', '-o', 'lo', '-j', 'NFQUEUE', '--queue-num', '0', '--queue-bypass']);
      await must(run, [...netnsExec(ns), 'python3', '-c', 'import socket; socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 12).close()']);
    }
  } finally {
    await run(['ip', 'netns', 'delete', ns]);
  }
}

/**
 * The link-delay method to use: the one asked for once its probe passes, or with 'auto'
 * netem when the kernel has it, else nfqueue; when neither works, the netem error with the
 * nfqueue one appended.
 */
export async function chooseLinkDelayMethod(requested: LinkDelayMethod | 'auto', options: { run?: CommandRunner; platformCheck?: boolean } = {}): Promise<LinkDelayMethod> {
  if (requested !== 'auto') {
    await probeNetns({ ...options, linkDelay: requested });
    return requested;
  }
  try {
    await probeNetns({ ...options, linkDelay: 'netem' });
    return 'netem';
  } catch (netem) {
    if (!(netem instanceof ChiveError) || !/netem/.test(netem.message)) throw netem;
    try {
      await probeNetns({ ...options, linkDelay: 'nfqueue' });
      return 'nfqueue';
    } catch (nfqueue) {
      throw new ChiveError('TESTNET_NETNS_UNAVAILABLE', `${netem.message}; the user-space fallback (--link-delay-method nfqueue) cannot run either: ${(nfqueue as Error).message}`);
    }
  }
}

/** Deletes namespaces named chive-TAG-… and the bridge an earlier run with this tag left behind. */
async function removeLeftovers(plan: NetnsPlan, run: CommandRunner): Promise<void> {
  const listed = await run(['ip', 'netns', 'list']);
  const prefix = `chive-${plan.tag}-`;
  const stale = listed.stdout.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n.startsWith(prefix));
  for (const ns of stale) await run(['ip', 'netns', 'delete', ns]);
  await run(['ip', 'link', 'delete', plan.bridge]);
}

/** Refuses when the host already has an address in 10.0.0.0/8 (another testnet, or a real network). */
async function checkSubnetFree(plan: NetnsPlan, run: CommandRunner): Promise<void> {
  const result = await must(run, ['ip', '-4', '-o', 'addr', 'show', 'to', NETNS_SUBNET]);
  const used = result.stdout.trim();
  if (used !== '') {
    throw new ChiveError('TESTNET_NETNS_FAILED',
      `the host already has an address in ${NETNS_SUBNET} (${used.split('\n')[0]!.replace(/\s+/g, ' ').slice(0, 120)}): ` +
      `another netns testnet may be running (its bridge is cv<tag>br), or this machine's own network uses ${NETNS_SUBNET}`);
  }
}

/** Sets up the plan's bridge and namespaces; on failure removes whatever it made and throws. */
export async function setUpNetns(plan: NetnsPlan, options: { run?: CommandRunner; platformCheck?: boolean } = {}): Promise<void> {
  if (options.platformCheck ?? true) requireLinux();
  const run = options.run ?? spawnRunner;
  await removeLeftovers(plan, run);
  await checkSubnetFree(plan, run);
  try {
    for (const argv of bridgeSetupCommands(plan)) await must(run, argv);
    const queue = [...plan.namespaces];
    let failure: unknown = null;
    await Promise.all(Array.from({ length: Math.min(SETUP_CONCURRENCY, queue.length) }, async () => {
      for (let ns = queue.shift(); ns && failure === null; ns = queue.shift()) {
        try {
          for (const argv of namespaceSetupCommands(plan, ns)) await must(run, argv);
        } catch (e) {
          failure ??= e;
        }
      }
    }));
    if (failure !== null) throw failure;
  } catch (e) {
    await tearDownNetns(plan, { run });
    throw e;
  }
}

/** Deletes the plan's namespaces and bridge; what is already gone is skipped. Never throws. */
export async function tearDownNetns(plan: NetnsPlan, options: { run?: CommandRunner } = {}): Promise<void> {
  const run = options.run ?? spawnRunner;
  for (const argv of teardownCommands(plan)) await run(argv).catch(() => null);
}

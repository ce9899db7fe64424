/**
 * The user-space link delay of `chive testnet --netns --link-delay D` on kernels without
 * netem: one testnet/nfqueue-delay.py per namespace (started with `ip netns exec NS`),
 * each serving the NFQUEUE rule that netns-plan.ts puts on that namespace's veth0.
 *
 *   const delayers = await startDelayers(plan);   // resolves once every one has bound its queue
 *   await delayers.stop();                         // SIGTERM, then SIGKILL after 2 s
 *
 * A delayer that exits early is reported through `onExit`; packets then pass undelayed
 * (the rule is --queue-bypass), so the launcher treats it like a node that died.
 *
 * Not here: the iptables rules and the namespaces (netns.ts), netem (a kernel qdisc needs
 * no process).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ChiveError } from '../src/errors.js';
import { type NetnsPlan, delayerCommand } from './netns-plan.js';

const START_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 2_000;

/** Delayers still running, SIGKILLed if the launcher exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const c of running) c.kill('SIGKILL');
    });
  }
  running.add(child);
  child.once('exit', () => running.delete(child));
}

export interface Delayers {
  /** Pids of the delayer processes (python3, exec'd by `ip netns exec`). */
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

function startOne(argv: readonly string[], ns: string, onExit: (ns: string, why: string) => void): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    track(child);
    let stderr = '';
    let listening = false;
    child.stderr!.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-2000)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new ChiveError('TESTNET_NETNS_FAILED', `the link delayer of ${ns} did not bind its queue within ${START_TIMEOUT_MS} ms: ${stderr.trim() || '(no message)'}`));
    }, START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!listening && line.includes('"listening"')) {
        listening = true;
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new ChiveError('TESTNET_NETNS_FAILED', `cannot start the link delayer of ${ns}: ${e.message}`, { cause: e }));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const why = `${signal ? `killed by ${signal}` : `exited with code ${code}`}${stderr.trim() ? `: ${stderr.trim()}` : ''}`;
      if (!listening) reject(new ChiveError('TESTNET_NETNS_FAILED', `the link delayer of ${ns} ${why}`));
      else onExit(ns, why);
    });
  });
}

/** Starts the delayer of every namespace of `plan` (none unless the method is 'nfqueue'). */
export async function startDelayers(plan: NetnsPlan, onExit: (ns: string, why: string) => void = () => {}): Promise<Delayers> {
  const children: ChildProcess[] = [];
  let stopping = false;
  const stop = async (): Promise<void> => {
    stopping = true;
    await Promise.all(children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      const timer = setTimeout(() => c.kill('SIGKILL'), STOP_GRACE_MS);
      c.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      c.kill('SIGTERM');
    })));
  };
  const report = (ns: string, why: string): void => {
    if (!stopping) onExit(ns, why);
  };
  const started = await Promise.allSettled(plan.namespaces.map(async (ns) => {
    const argv = delayerCommand(plan, ns.name);
    if (argv) children.push(await startOne(argv, ns.name, report));
  }));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  return { pids: children.map((c) => c.pid!), stop };
}

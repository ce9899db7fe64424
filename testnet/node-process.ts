/**
 * One chive node as an OS process, for the testnet launcher: `node bin/chive.mjs <role> …`
 * with stdin ignored, stdout piped (the node's one JSON line
 * `{"event":"listening","url":…,"identity":…}` is read from it) and stderr appended to
 * the node's log file, so that whatever a node says before its own logging starts (a bad
 * flag, a port in use) ends up in the same place as its logs.
 *
 * A process may host several relays (`chive testnet run-relays`, relay-group.ts): it is
 * then created with their nicknames as `members`, and each member's listening line carries
 * `"nickname"`. A process may also be started through a wrapper command (`ip netns exec NS`
 * for the network-namespace mode), which execs into node, so `pid` is still node's.
 *
 * Children run in their own process group (detached), so a Ctrl-C in the terminal reaches
 * only the launcher, which stops them in order: SIGTERM, then SIGKILL after a grace
 * period. If the launcher exits without stopping them (an uncaught error), an `exit` hook
 * SIGKILLs whatever is left; only a SIGKILL of the launcher itself can orphan them.
 *
 * Also `runChive` (a short command to completion, e.g. `--print-identity`) and `tailOfFile`.
 * Not here: which nodes to start and in what order (launcher.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { ChiveError } from '../src/errors.js';

/** Absolute path of the `chive` entry point (bin/chive.mjs). */
export const CHIVE_BIN = fileURLToPath(new URL('../bin/chive.mjs', import.meta.url));

/** Default time between SIGTERM and SIGKILL when stopping a node. */
export const DEFAULT_STOP_GRACE_MS = 5_000;

/** What a node prints on stdout once it serves. */
export interface ListeningEvent {
  /** Set by a relay group (one line per member relay). */
  readonly nickname?: string;
  readonly url: string;
  readonly identity: string;
  readonly metricsUrl?: string | null;
}

export interface NodeExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** The last `lines` lines of a text file ('' when it cannot be read). */
export function tailOfFile(path: string, lines = 15): string {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return '';
  }
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function describeExit(exit: NodeExit): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
}

/** Every node still running, for the last-resort `exit` hook. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export interface NodeProcessOptions {
  /** Names of the relays a group process hosts (default: the process is the one node `name`). */
  readonly members?: readonly string[];
  /** A command that execs its arguments in another context, e.g. ['ip', 'netns', 'exec', 'chive-r0']. */
  readonly wrapper?: readonly string[];
}

/** The command line that starts `chive <args…>`, through `wrapper` if given. */
export function chiveCommandLine(args: readonly string[], wrapper: readonly string[] = []): { file: string; args: string[] } {
  const line = [...wrapper, process.execPath, CHIVE_BIN, ...args];
  return { file: line[0]!, args: line.slice(1) };
}

export class NodeProcess {
  readonly pid: number;
  /** The nodes this process hosts: `[name]`, or the relays of a group. */
  readonly members: readonly string[];
  private readonly child: ChildProcess;
  private exitInfo: NodeExit | null = null;
  private readonly exited: Promise<NodeExit>;
  /** Listening lines by member name. */
  private readonly listening = new Map<string, ListeningEvent>();
  private stopping = false;
  private readonly exitListeners: ((exit: NodeExit) => void)[] = [];

  /** Starts `chive <args…>`; `name` names the process in messages, `logFile` receives its stderr. */
  constructor(readonly name: string, args: readonly string[], readonly logFile: string, options: NodeProcessOptions = {}) {
    installExitHook();
    this.members = options.members ?? [name];
    const command = chiveCommandLine(args, options.wrapper);
    const logFd = openSync(logFile, 'a', 0o600);
    try {
      this.child = spawn(command.file, command.args, { stdio: ['ignore', 'pipe', logFd], detached: true });
    } finally {
      closeSync(logFd);
    }
    if (this.child.pid === undefined) {
      throw new ChiveError('TESTNET_NODE_FAILED', `${name}: could not start ${command.file} ${command.args.join(' ').slice(0, 200)}`);
    }
    this.pid = this.child.pid;
    running.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        running.delete(this.child);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
        if (!this.stopping) for (const l of this.exitListeners) l(this.exitInfo);
      });
    });
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', (line) => {
      try {
        const event = JSON.parse(line) as { event?: unknown; nickname?: unknown; url?: unknown; identity?: unknown; metricsUrl?: unknown };
        if (event.event === 'listening' && typeof event.url === 'string' && typeof event.identity === 'string') {
          const metricsUrl = typeof event.metricsUrl === 'string' ? event.metricsUrl : null;
          const member = typeof event.nickname === 'string' ? event.nickname : this.name;
          if (!this.listening.has(member)) this.listening.set(member, { nickname: member, url: event.url, identity: event.identity, metricsUrl });
        }
      } catch {
        /* not the JSON line: ignored */
      }
    });
  }

  /** True once the process has exited. */
  get hasExited(): boolean {
    return this.exitInfo !== null;
  }

  /** Called when the node exits without stop() having been asked (not called after stop()). */
  onUnexpectedExit(listener: (exit: NodeExit) => void): void {
    this.exitListeners.push(listener);
  }

  /** The last lines of the node's log, for error messages. */
  logTail(lines = 15): string {
    return tailOfFile(this.logFile, lines);
  }

  /** Why the node is gone, with its log tail. */
  deathMessage(exit: NodeExit): string {
    const tail = this.logTail();
    return `${this.name} (pid ${this.pid}) ${describeExit(exit)}; last lines of ${this.logFile}:\n${tail || '(empty)'}`;
  }

  /**
   * Resolves with the listening line of `member` (default: the process's own node); rejects
   * when the process exits first or after `timeoutMs`.
   */
  waitListening(timeoutMs: number, member = this.members.length === 1 ? this.members[0]! : this.name): Promise<ListeningEvent> {
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const check = (): void => {
        const event = this.listening.get(member);
        if (event) return resolve(event);
        if (this.exitInfo) {
          return reject(new ChiveError('TESTNET_NODE_FAILED', `${this.name} failed to start: ${this.deathMessage(this.exitInfo)}`));
        }
        if (Date.now() - started > timeoutMs) {
          const who = member === this.name ? this.name : `${member} (in ${this.name})`;
          return reject(new ChiveError('TESTNET_NODE_FAILED', `${who} (pid ${this.pid}) did not report listening within ${timeoutMs} ms; last lines of ${this.logFile}:\n${this.logTail() || '(empty)'}`));
        }
        setTimeout(check, 25);
      };
      check();
    });
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<NodeExit> {
    this.stopping = true;
    if (this.exitInfo) return this.exitInfo;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        if (!this.exitInfo) this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    return this.exited;
  }

  /** SIGKILL at once (a second Ctrl-C); resolves once the process is gone. */
  async kill(): Promise<NodeExit> {
    this.stopping = true;
    if (!this.exitInfo) this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** Runs `chive <args…>` to completion; resolves with its stdout, rejects with its stderr on failure. */
export function runChive(name: string, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHIVE_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new ChiveError('TESTNET_NODE_FAILED', `${name}: could not run chive ${args.join(' ')}: ${e.message}`, { cause: e }));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(Buffer.concat(out).toString('utf8'));
      const why = signal ? `was killed by ${signal} (time limit ${timeoutMs} ms)` : `exited with code ${code}`;
      const stderr = Buffer.concat(err).toString('utf8').trimEnd();
      reject(new ChiveError('TESTNET_NODE_FAILED', `${name}: chive ${args.join(' ')} ${why}${stderr ? `:\n${stderr}` : ''}`));
    });
  });
}

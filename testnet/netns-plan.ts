/**
 * The address plan and the iproute2 command lines of `chive testnet --netns`: every node
 * process in a Linux network namespace of its own, joined to one bridge in the host's
 * namespace by a veth pair, so that nodes talk over real (virtual) interfaces with
 * addresses of their own, and `tc netem` can delay every packet a node sends.
 *
 *   host (bridge BR)   10.0.0.1/8        the launcher, `chive socks`, a bench server
 *   authority i        10.0.1.(i+1)      namespace chive-TAG-aI
 *   client c           10.0.2.(c+1)      namespace chive-TAG-cC (for clients and benches)
 *   relay k            10.S.H.L          S = 1 + ⌊k / relaysPerSlash16⌋, H.L = (k mod relaysPerSlash16) + 1:
 *                                        with the default relaysPerSlash16 = 1 every relay has a
 *                                        /16 of its own, so path selection's /16 rule is met
 *                                        by real addresses rather than switched off.
 *   relay process g    namespace chive-TAG-rG holding the addresses of all its relays
 *
 * Everything is on-link in 10.0.0.0/8 (no router): each namespace's `veth0` carries its
 * addresses as /8, each host-side end (cvTAG<a|c|r>N) is a port of the bridge cvTAGbr.
 * With a link delay D every namespace's veth0 gets `netem delay D` on egress, so a packet
 * from any node to any other node takes D one way and a round trip between two nodes
 * takes 2·D (packets the host itself sends are not delayed). On kernels without netem the
 * 'nfqueue' method does the same from user space: an iptables rule in each namespace
 * queues every packet leaving veth0 (NFQUEUE, queue 0, bypassed while nobody listens) and
 * testnet/nfqueue-delay.py, started in that namespace, releases each one D later.
 *
 * Pure: names, addresses and argv lists only. Running them and the privilege checks are
 * netns.ts. Interface names stay within Linux's 15 characters (tag ≤ 4 characters).
 */
import { fileURLToPath } from 'node:url';
import { ChiveError } from '../src/errors.js';
import { groupRelays } from './node-plan.js';

/** How a link delay is applied: the kernel's netem qdisc, or NFQUEUE + nfqueue-delay.py. */
export type LinkDelayMethod = 'netem' | 'nfqueue';
/** The user-space delayer of the 'nfqueue' method. */
export const NFQUEUE_DELAY_SCRIPT = fileURLToPath(new URL('./nfqueue-delay.py', import.meta.url));
/** The netfilter queue each namespace's delayer serves. */
export const NFQUEUE_NUM = 0;

export const NETNS_HOST_ADDRESS = '10.0.0.1';
export const NETNS_PREFIX_LENGTH = 8;
export const NETNS_SUBNET = '10.0.0.0/8';
/** The inside end of every namespace's veth pair. */
export const NETNS_VETH = 'veth0';
/** Most clients' namespaces (10.0.2.1 … 10.0.2.254). */
export const MAX_NETNS_CLIENTS = 254;
/** Relays' /16s are 10.1 … 10.254. */
const MAX_SLASH16 = 254;

export interface NetnsPlanInput {
  /** 1..4 characters of [a-z0-9], unique per testnet on the machine (names its namespaces and interfaces). */
  readonly tag: string;
  readonly authorities: number;
  readonly relays: number;
  readonly relaysPerProcess: number;
  /** How many relays share a /16 (default 1: one /16 each). */
  readonly relaysPerSlash16?: number;
  /** Namespaces for clients (default 1). */
  readonly clients?: number;
  /** One-way delay added to every packet a node sends, ms (default 0: none). */
  readonly linkDelayMs?: number;
  /** How the delay is applied (default 'netem'). */
  readonly linkDelayMethod?: LinkDelayMethod;
}

export interface NamespaceSpec {
  readonly name: string;
  readonly role: 'authority' | 'relays' | 'client';
  /** Host-side end of the veth pair (a bridge port). */
  readonly hostVeth: string;
  /** Addresses on its veth0 (without prefix length). */
  readonly addresses: readonly string[];
}

export interface NetnsPlan {
  readonly tag: string;
  readonly bridge: string;
  readonly hostAddress: string;
  readonly linkDelayMs: number;
  readonly linkDelayMethod: LinkDelayMethod;
  readonly authorityAddresses: readonly string[];
  readonly relayAddresses: readonly string[];
  readonly clientAddresses: readonly string[];
  /** Authorities', relay processes' and clients' namespaces, in that order. */
  readonly namespaces: readonly NamespaceSpec[];
  readonly authorityNamespaces: readonly string[];
  /** Namespace of relay process g (relays grouped relaysPerProcess at a time). */
  readonly relayProcessNamespaces: readonly string[];
  readonly clientNamespaces: readonly string[];
}

function checkInt(v: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(v) || v < min || v > max) throw new ChiveError('INVALID_ARGUMENT', `${what} must be a whole number in ${min}..${max}, got ${v}`);
}

/** A short tag for a testnet folder: 4 base-36 characters of a hash of its path. */
export function netnsTagFor(dir: string): string {
  let h = 2166136261;
  for (let i = 0; i < dir.length; i++) h = Math.imul(h ^ dir.charCodeAt(i), 16777619) >>> 0;
  return (h % 36 ** 4).toString(36).padStart(4, '0');
}

/** The address of relay `k` (see the module comment). */
export function netnsRelayAddress(k: number, relaysPerSlash16 = 1): string {
  const slash16 = 1 + Math.floor(k / relaysPerSlash16);
  const host = (k % relaysPerSlash16) + 1;
  return `10.${slash16}.${host >> 8}.${host & 255}`;
}

export function planNetns(input: NetnsPlanInput): NetnsPlan {
  if (!/^[a-z0-9]{1,4}$/.test(input.tag)) throw new ChiveError('INVALID_ARGUMENT', `netns tag ${JSON.stringify(input.tag)} must be 1..4 characters of [a-z0-9]`);
  const perSlash16 = input.relaysPerSlash16 ?? 1;
  const clients = input.clients ?? 1;
  const linkDelayMs = input.linkDelayMs ?? 0;
  checkInt(input.authorities, 1, 32, 'the number of authorities');
  checkInt(input.relays, 1, MAX_SLASH16 * 65_000, 'the number of relays');
  checkInt(input.relaysPerProcess, 1, input.relays, 'relays per process');
  checkInt(perSlash16, 1, 65_000, 'relays per /16');
  checkInt(clients, 0, MAX_NETNS_CLIENTS, 'the number of client namespaces');
  checkInt(linkDelayMs, 0, 10_000, 'the link delay (ms)');
  const slash16s = Math.ceil(input.relays / perSlash16);
  if (slash16s > MAX_SLASH16) {
    throw new ChiveError('INVALID_ARGUMENT', `${input.relays} relays at ${perSlash16} per /16 need ${slash16s} /16 networks; 10.0.0.0/8 has ${MAX_SLASH16} for relays (raise relays per /16)`);
  }
  const t = input.tag;
  const authorityAddresses = Array.from({ length: input.authorities }, (_, i) => `10.0.1.${i + 1}`);
  const clientAddresses = Array.from({ length: clients }, (_, c) => `10.0.2.${c + 1}`);
  const relayAddresses = Array.from({ length: input.relays }, (_, k) => netnsRelayAddress(k, perSlash16));
  const authorityNamespaces = authorityAddresses.map((_, i) => `chive-${t}-a${i}`);
  const groups = groupRelays(input.relays, input.relaysPerProcess);
  const relayProcessNamespaces = groups.map((_, g) => `chive-${t}-r${g}`);
  const clientNamespaces = clientAddresses.map((_, c) => `chive-${t}-c${c}`);
  const namespaces: NamespaceSpec[] = [
    ...authorityAddresses.map((a, i) => ({ name: authorityNamespaces[i]!, role: 'authority' as const, hostVeth: `cv${t}a${i}`, addresses: [a] })),
    ...groups.map((members, g) => ({
      name: relayProcessNamespaces[g]!, role: 'relays' as const, hostVeth: `cv${t}r${g}`, addresses: members.map((k) => relayAddresses[k]!),
    })),
    ...clientAddresses.map((a, c) => ({ name: clientNamespaces[c]!, role: 'client' as const, hostVeth: `cv${t}c${c}`, addresses: [a] })),
  ];
  return {
    tag: t, bridge: `cv${t}br`, hostAddress: NETNS_HOST_ADDRESS, linkDelayMs, linkDelayMethod: input.linkDelayMethod ?? 'netem',
    authorityAddresses, relayAddresses, clientAddresses, namespaces, authorityNamespaces, relayProcessNamespaces, clientNamespaces,
  };
}

/** The bridge's commands (run first). */
export function bridgeSetupCommands(plan: NetnsPlan): string[][] {
  return [
    ['ip', 'link', 'add', plan.bridge, 'type', 'bridge'],
    ['ip', 'addr', 'add', `${plan.hostAddress}/${NETNS_PREFIX_LENGTH}`, 'dev', plan.bridge],
    ['ip', 'link', 'set', plan.bridge, 'up'],
  ];
}

/** One namespace's commands, in order (after the bridge's). */
export function namespaceSetupCommands(plan: NetnsPlan, ns: NamespaceSpec): string[][] {
  return [
    ['ip', 'netns', 'add', ns.name],
    ['ip', 'link', 'add', ns.hostVeth, 'type', 'veth', 'peer', 'name', NETNS_VETH, 'netns', ns.name],
    ['ip', 'link', 'set', ns.hostVeth, 'master', plan.bridge, 'up'],
    ['ip', '-n', ns.name, 'link', 'set', 'lo', 'up'],
    ...ns.addresses.map((a) => ['ip', '-n', ns.name, 'addr', 'add', `${a}/${NETNS_PREFIX_LENGTH}`, 'dev', NETNS_VETH]),
    ['ip', '-n', ns.name, 'link', 'set', NETNS_VETH, 'up'],
    ...(plan.linkDelayMs > 0 ? [delayCommand(plan, ns.name)] : []),
  ];
}

/** The command that makes packets leaving `ns`'s veth0 wait: a netem qdisc, or the NFQUEUE rule. */
export function delayCommand(plan: NetnsPlan, ns: string): string[] {
  return plan.linkDelayMethod === 'netem'
    ? ['tc', '-n', ns, 'qdisc', 'add', 'dev', NETNS_VETH, 'root', 'netem', 'delay', `${plan.linkDelayMs}ms`]
    : [...netnsExec(ns), 'iptables', '-A', 'OUTPUT', '-o', NETNS_VETH, '-j', 'NFQUEUE', '--queue-num', String(NFQUEUE_NUM), '--queue-bypass'];
}

/** With the 'nfqueue' method: the delayer each namespace runs (none otherwise). */
export function delayerCommand(plan: NetnsPlan, ns: string): string[] | null {
  if (plan.linkDelayMs === 0 || plan.linkDelayMethod !== 'nfqueue') return null;
  return [...netnsExec(ns), 'python3', NFQUEUE_DELAY_SCRIPT, '--queue', String(NFQUEUE_NUM), '--delay-ms', String(plan.linkDelayMs)];
}

/** Every setup command, in an order that works run one after the other. */
export function setupCommands(plan: NetnsPlan): string[][] {
  return [...bridgeSetupCommands(plan), ...plan.namespaces.flatMap((ns) => namespaceSetupCommands(plan, ns))];
}

/** Removing the namespaces removes their veth pairs; then the bridge. */
export function teardownCommands(plan: NetnsPlan): string[][] {
  return [...plan.namespaces.map((ns) => ['ip', 'netns', 'delete', ns.name]), ['ip', 'link', 'delete', plan.bridge]];
}

/** The wrapper that runs a command inside namespace `ns`. */
export function netnsExec(ns: string): string[] {
  return ['ip', 'netns', 'exec', ns];
}

/**
 * Exit policies: which IPv4 address / port pairs a relay lets streams leave to.
 *
 * A policy is an ordered list of rules; the first rule that matches an (address, port)
 * decides; when none matches (and so for the empty policy) the answer is reject. Rules
 * match an IPv4 prefix (address / mask bits, host bits zero) and an inclusive port range
 * 1..65535. The text form is torrc-like: `accept 127.0.0.1/32:1-65535, reject *:*`.
 *
 * This module is the data type, its binary codec, its text parser / formatter, matching,
 * and `exitPolicyWitness` (does the policy allow anything at all: the Exit flag rule).
 * It is not the enforcement at an exit (relay/) and knows nothing of DNS or IPv6.
 */
import { ChiveError } from '../errors.js';
import type { ByteReader, ByteWriter } from '../bytes.js';
import { ExitPolicyAction, MAX_EXIT_POLICY_RULES } from '../wire/constants.js';
import { type Fail, checkUint, formatIpv4, parseIpv4 } from './fields.js';

export interface ExitRule {
  readonly action: 'accept' | 'reject';
  /** IPv4 network address as a u32, host bits zero. */
  readonly address: number;
  /** Prefix length 0..32 (0 matches every address). */
  readonly maskBits: number;
  /** Inclusive port range, 1 ≤ portMin ≤ portMax ≤ 65535. */
  readonly portMin: number;
  readonly portMax: number;
}

/** Ordered rules, first match wins, default reject. */
export type ExitPolicy = readonly ExitRule[];

/** `reject *:*`: the policy of a non-exit relay (the empty policy means the same). */
export const REJECT_ALL: ExitPolicy = [];

/** Bytes of one encoded rule: action u8 ‖ address u32 ‖ mask bits u8 ‖ port min u16 ‖ port max u16. */
export const EXIT_RULE_LEN = 10;

export function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffff_ffff << (32 - bits)) >>> 0;
}

function prefixContains(address: number, maskBits: number, ip: number): boolean {
  return ((ip & maskOf(maskBits)) >>> 0) === address;
}

export function checkExitRule(rule: ExitRule, index: number, fail: Fail): void {
  const at = `exit policy rule ${index}`;
  if (rule.action !== 'accept' && rule.action !== 'reject') fail('field', `${at}: action must be accept or reject`);
  checkUint(rule.address, 0xffff_ffff, `${at} address`, fail);
  checkUint(rule.maskBits, 32, `${at} mask bits`, fail);
  if (((rule.address & ~maskOf(rule.maskBits)) >>> 0) !== 0) {
    fail('canonical', `${at}: ${formatIpv4(rule.address)}/${rule.maskBits} has host bits set`);
  }
  checkUint(rule.portMin, 65535, `${at} port min`, fail);
  checkUint(rule.portMax, 65535, `${at} port max`, fail);
  if (rule.portMin < 1 || rule.portMin > rule.portMax) fail('field', `${at}: port range must satisfy 1 ≤ min ≤ max ≤ 65535`);
}

export function checkExitPolicy(policy: ExitPolicy, fail: Fail): void {
  if (!Array.isArray(policy)) fail('field', 'exit policy must be a list of rules');
  if (policy.length > MAX_EXIT_POLICY_RULES) fail('field', `exit policy has ${policy.length} rules; at most ${MAX_EXIT_POLICY_RULES}`);
  policy.forEach((rule, i) => checkExitRule(rule, i, fail));
}

/** u8 rule count ‖ rules (EXIT_RULE_LEN bytes each). The caller has checked the policy. */
export function writeExitPolicy(w: ByteWriter, policy: ExitPolicy): void {
  w.u8(policy.length);
  for (const r of policy) {
    w.u8(r.action === 'accept' ? ExitPolicyAction.ACCEPT : ExitPolicyAction.REJECT);
    w.u32(r.address).u8(r.maskBits).u16(r.portMin).u16(r.portMax);
  }
}

export function readExitPolicy(r: ByteReader, fail: Fail): ExitRule[] {
  const n = r.u8('exit policy rule count');
  if (n > MAX_EXIT_POLICY_RULES) fail('field', `exit policy has ${n} rules; at most ${MAX_EXIT_POLICY_RULES}`);
  const out: ExitRule[] = [];
  for (let i = 0; i < n; i++) {
    const code = r.u8('exit rule action');
    if (code !== ExitPolicyAction.ACCEPT && code !== ExitPolicyAction.REJECT) fail('field', `exit policy rule ${i}: unknown action ${code}`);
    const rule: ExitRule = {
      action: code === ExitPolicyAction.ACCEPT ? 'accept' : 'reject',
      address: r.u32('exit rule address'),
      maskBits: r.u8('exit rule mask bits'),
      portMin: r.u16('exit rule port min'),
      portMax: r.u16('exit rule port max'),
    };
    checkExitRule(rule, i, fail);
    out.push(rule);
  }
  return out;
}

/** Does `policy` let a stream leave to `ip` (dotted quad or u32) on `port`? First match wins; default reject. */
export function exitPolicyAllows(policy: ExitPolicy, ip: string | number, port: number): boolean {
  const addr = typeof ip === 'number' ? ip : parseIpv4(ip);
  if (addr === undefined || !Number.isInteger(addr) || addr < 0 || addr > 0xffff_ffff) {
    throw new ChiveError('INVALID_ARGUMENT', `not an IPv4 address: ${String(ip)}`);
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ChiveError('INVALID_ARGUMENT', `not a port: ${port}`);
  for (const rule of policy) {
    if (port >= rule.portMin && port <= rule.portMax && prefixContains(rule.address, rule.maskBits, addr)) {
      return rule.action === 'accept';
    }
  }
  return false;
}

/**
 * Some (address, port) that `policy` accepts, or undefined when it accepts nothing (the
 * Exit flag needs a witness). Exact: an accept rule counts only where no earlier rule
 * covers all of it; for each port segment the earlier rules' prefixes are tested for
 * covering the accept rule's prefix by splitting it in halves (≤ 32 levels per rule).
 */
export function exitPolicyWitness(policy: ExitPolicy): { address: number; port: number } | undefined {
  for (let i = 0; i < policy.length; i++) {
    const rule = policy[i]!;
    if (rule.action !== 'accept') continue;
    const earlier = policy.slice(0, i);
    const cuts = new Set<number>([rule.portMin, rule.portMax + 1]);
    for (const e of earlier) {
      for (const c of [e.portMin, e.portMax + 1]) if (c > rule.portMin && c <= rule.portMax) cuts.add(c);
    }
    const bounds = [...cuts].sort((a, b) => a - b);
    for (let k = 0; k + 1 < bounds.length; k++) {
      const lo = bounds[k]!;
      const hi = bounds[k + 1]! - 1;
      const covering = earlier.filter((e) => e.portMin <= lo && e.portMax >= hi);
      const address = uncoveredAddress(rule.address, rule.maskBits, covering);
      if (address !== undefined) return { address, port: lo };
    }
  }
  return undefined;
}

/** An address inside prefix (address/bits) that no prefix in `rules` contains, or undefined. */
function uncoveredAddress(address: number, bits: number, rules: readonly ExitRule[]): number | undefined {
  if (rules.some((q) => q.maskBits <= bits && prefixContains(q.address, q.maskBits, address))) return undefined;
  const inside = rules.filter((q) => q.maskBits > bits && prefixContains(address, bits, q.address));
  if (inside.length === 0) return address;
  const halfBit = 2 ** (31 - bits);
  return uncoveredAddress(address, bits + 1, inside) ?? uncoveredAddress(address + halfBit, bits + 1, inside);
}

function syntax(message: string): never {
  throw new ChiveError('EXIT_POLICY_SYNTAX', message);
}

function parsePort(text: string, item: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) syntax(`exit policy item "${item}": bad port "${text}" (1..65535)`);
  return Number(text);
}

/**
 * Parses torrc-like text: items separated by commas or newlines, each
 * `accept|reject ADDR:PORTS` with ADDR `*`, `a.b.c.d` or `a.b.c.d/bits` and PORTS `*`,
 * `p` or `p1-p2`. Empty items are ignored; the empty text is the empty policy (reject all).
 * Errors are EXIT_POLICY_SYNTAX and name the item.
 */
export function parseExitPolicy(text: string): ExitRule[] {
  const rules: ExitRule[] = [];
  for (const raw of text.split(/[,\n]/)) {
    const item = raw.trim();
    if (item === '') continue;
    const m = /^(accept|reject)\s+(\S+)$/i.exec(item);
    if (!m) syntax(`exit policy item "${item}": expected "accept ADDR:PORTS" or "reject ADDR:PORTS"`);
    const action = m[1]!.toLowerCase() as 'accept' | 'reject';
    const target = m[2]!;
    const colon = target.lastIndexOf(':');
    if (colon < 0) syntax(`exit policy item "${item}": missing ":PORTS"`);
    const addrText = target.slice(0, colon);
    const portText = target.slice(colon + 1);
    let address = 0;
    let maskBits = 0;
    if (addrText !== '*') {
      const [ipText, bitsText, extra] = addrText.split('/');
      const ip = parseIpv4(ipText!);
      if (ip === undefined || extra !== undefined) syntax(`exit policy item "${item}": "${addrText}" is not *, a.b.c.d or a.b.c.d/bits (IPv4 only)`);
      maskBits = 32;
      if (bitsText !== undefined) {
        if (!/^[0-9]{1,2}$/.test(bitsText) || Number(bitsText) > 32) syntax(`exit policy item "${item}": bad mask bits "${bitsText}" (0..32)`);
        maskBits = Number(bitsText);
      }
      if (((ip & ~maskOf(maskBits)) >>> 0) !== 0) {
        syntax(`exit policy item "${item}": ${addrText} has host bits set; did you mean ${formatIpv4((ip & maskOf(maskBits)) >>> 0)}/${maskBits}?`);
      }
      address = ip;
    }
    let portMin = 1;
    let portMax = 65535;
    if (portText !== '*') {
      const [a, b, extra] = portText.split('-');
      if (extra !== undefined) syntax(`exit policy item "${item}": bad port range "${portText}"`);
      portMin = parsePort(a!, item);
      portMax = b === undefined ? portMin : parsePort(b, item);
      if (portMin > portMax) syntax(`exit policy item "${item}": port range ${portText} is empty`);
    }
    rules.push({ action, address, maskBits, portMin, portMax });
  }
  if (rules.length > MAX_EXIT_POLICY_RULES) syntax(`exit policy has ${rules.length} rules; at most ${MAX_EXIT_POLICY_RULES}`);
  return rules;
}

/** Canonical text: `*` for /0 and for ports 1-65535, `p` for a one-port range; `, ` between rules. */
export function formatExitPolicy(policy: ExitPolicy): string {
  return policy
    .map((r) => {
      const addr = r.maskBits === 0 ? '*' : `${formatIpv4(r.address)}/${r.maskBits}`;
      const ports = r.portMin === 1 && r.portMax === 65535 ? '*' : r.portMin === r.portMax ? `${r.portMin}` : `${r.portMin}-${r.portMax}`;
      return `${r.action} ${addr}:${ports}`;
    })
    .join(', ');
}

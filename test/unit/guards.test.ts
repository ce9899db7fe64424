/**
 * Entry guards (client/guards.ts) and their file (client/guard-store.ts): sampling among
 * Running Guard relays weighted by consensus weight (chi-square over 6,000 seeded fresh
 * samples), persistence across a reload (mode 0600, atomic, strict parsing), confirmation
 * and ordering, back-off after failures and retry, replacement of a guard that leaves
 * the consensus (and its return), expiry after the lifetime, the sample cap, and the
 * first hops offered to path selection.
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toHex } from '../../src/bytes.js';
import { isChiveError } from '../../src/errors.js';
import { type ConsensusRelay, dangerouslyAssumeCheckedConsensus } from '../../src/dirdoc/index.js';
import { RelayFlag } from '../../src/wire/constants.js';
import { DEFAULT_GUARD_OPTIONS, GuardState, TESTNET_GUARD_OPTIONS } from '../../client/guards.js';
import { GUARDS_FILE, guardStatePath, loadGuardState, saveGuardState } from '../../client/guard-store.js';
import { selectPath } from '../../client/path-selection.js';
import { seeded } from '../support/seeded.js';

const { RUNNING, FAST, GUARD, STABLE } = RelayFlag;
const ALL = RUNNING | FAST | GUARD | STABLE;
const T0 = 1_750_000_000_000;
const MIN = 60_000;
const DAY = 24 * 60 * MIN;


function id(i: number): Uint8Array {
  const k = new Uint8Array(32).fill(0x22);
  k[0] = i;
  return k;
}

function relay(i: number, o: Partial<ConsensusRelay> = {}): ConsensusRelay {
  return {
    identity: id(i), descriptorDigest: new Uint8Array(32), published: 0, flags: ALL, weight: 1000,
    onionKey: new Uint8Array(32).fill(i + 1), linkKey: new Uint8Array(32).fill(i + 2), nickname: `relay${i}`,
    address: `ws://10.${i}.0.1:9000`, exitPolicy: [], family: [], ...o,
  };
}

function consensus(relays: readonly ConsensusRelay[]) {
  return dangerouslyAssumeCheckedConsensus({ validAfter: 0, freshUntil: 1, validUntil: 2, relays, signatures: [] });
}

const names = (ids: readonly Uint8Array[]): number[] => ids.map((k) => k[0]!);
const guardNames = (s: GuardState): number[] => names(s.guards.map((g) => g.identity));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isChiveError(e) ? e.code : `not a ChiveError: ${String(e)}`;
  }
}

const net = consensus([1, 2, 3, 4, 5, 6, 7, 8].map((i) => relay(i)));

describe('GuardState sampling', () => {
  it('samples primaryCount distinct guards, only Running Guard relays', () => {
    const mixed = consensus([
      relay(1, { flags: RUNNING | FAST }), relay(2, { flags: ALL & ~RUNNING }), relay(3), relay(4), relay(5), relay(6, { flags: RUNNING }),
    ]);
    const s = new GuardState();
    const changes = s.update(mixed, T0, seeded(1));
    expect(changes.added).toHaveLength(3);
    expect(guardNames(s).sort()).toEqual([3, 4, 5]);
    expect(s.guards.every((g) => g.sampledAt === T0 && g.confirmedAt === undefined && g.failures === 0)).toBe(true);
    expect(s.update(mixed, T0 + MIN, seeded(2)).added).toHaveLength(0); // nothing to do
  });

  it('weights the choice by consensus weight (chi-square at p = 0.001 over 6,000 fresh samples)', () => {
    const weights = [1, 2, 3, 4, 10];
    const pool = consensus(weights.map((w, i) => relay(i + 1, { weight: w * 500 })));
    const total = weights.reduce((a, b) => a + b, 0);
    const counts = new Map<number, number>();
    const rng = seeded(77);
    const draws = 6000;
    for (let i = 0; i < draws; i++) {
      const s = new GuardState({ primaryCount: 1 });
      s.update(pool, T0, rng);
      const first = s.guards[0]!.identity[0]!;
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    let chi2 = 0;
    weights.forEach((w, i) => {
      const mean = (draws * w) / total;
      chi2 += ((counts.get(i + 1) ?? 0) - mean) ** 2 / mean;
    });
    // Chi-square critical value, 4 degrees of freedom, upper tail 0.001 (tables: 18.467).
    expect(chi2).toBeLessThan(18.467);
  });

  it('offers nothing when the consensus has no Guard relay', () => {
    const s = new GuardState();
    s.update(consensus([relay(1, { flags: RUNNING | FAST })]), T0, seeded(1));
    expect(s.guards).toHaveLength(0);
    expect(s.firstHops(T0)).toEqual([]);
  });
});

describe('GuardState lifecycle', () => {
  it('confirmed guards come first; successes clear failures', () => {
    const s = new GuardState();
    s.update(net, T0, seeded(3));
    const [a, b, c] = s.guards.map((g) => g.identity);
    expect(s.recordSuccess(c!, T0 + 1)).toBe(true);
    expect(names(s.guards.map((g) => g.identity))).toEqual(names([c!, a!, b!]));
    expect(s.guards[0]!.confirmedAt).toBe(T0 + 1);
    s.recordSuccess(c!, T0 + 99);
    expect(s.guards[0]!.confirmedAt).toBe(T0 + 1); // confirmed once
    expect(s.recordSuccess(id(200), T0)).toBe(false);
    expect(s.recordFailure(id(200), T0)).toBe(false);
  });

  it('a failed guard backs off, doubling up to the ceiling, and is retried afterwards', () => {
    const s = new GuardState({ retryBaseMs: 10 * MIN, retryMaxMs: 60 * MIN });
    s.update(net, T0, seeded(4));
    const [a, b, c] = s.firstHops(T0);
    s.recordFailure(a!, T0);
    expect(s.guards.find((g) => toHex(g.identity) === toHex(a!))!.retryAt).toBe(T0 + 10 * MIN);
    expect(names(s.firstHops(T0 + 5 * MIN))).toEqual(names([b!, c!]));
    expect(s.isUsable(a!, T0 + 5 * MIN)).toBe(false);
    expect(names(s.firstHops(T0 + 10 * MIN))).toEqual(names([a!, b!, c!])); // retried when the back-off ends
    s.recordFailure(a!, T0 + 10 * MIN);
    expect(s.guards.find((g) => toHex(g.identity) === toHex(a!))!.retryAt).toBe(T0 + 30 * MIN);
    s.recordFailure(a!, T0 + 30 * MIN);
    s.recordFailure(a!, T0 + 70 * MIN);
    expect(s.guards.find((g) => toHex(g.identity) === toHex(a!))!.retryAt).toBe(T0 + 130 * MIN); // 60 min ceiling
    s.recordSuccess(a!, T0 + 200 * MIN);
    expect(s.isUsable(a!, T0 + 200 * MIN)).toBe(true);
    expect(s.guards.find((g) => toHex(g.identity) === toHex(a!))!.failures).toBe(0);
  });

  it('when every guard backs off, all are offered again, soonest retry first; failures never grow the sample', () => {
    const s = new GuardState();
    s.update(net, T0, seeded(5));
    const [a, b, c] = s.firstHops(T0);
    s.recordFailure(b!, T0);
    s.recordFailure(c!, T0 + 1000);
    s.recordFailure(a!, T0 + 2000);
    expect(names(s.firstHops(T0 + 3000))).toEqual(names([b!, c!, a!]));
    s.update(net, T0 + 3000, seeded(6));
    expect(s.guards).toHaveLength(3);
  });

  it('a guard that leaves the consensus is replaced, takes its place back if it returns, and is dropped after removeUnlistedAfterMs', () => {
    const s = new GuardState();
    s.update(net, T0, seeded(7));
    const [a, b, c] = s.firstHops(T0);
    s.recordSuccess(a!, T0);
    const without = consensus(net.relays.filter((r) => toHex(r.identity) !== toHex(a!)));
    const changes = s.update(without, T0 + DAY, seeded(8));
    expect(changes.added).toHaveLength(1);
    const d = changes.added[0]!.identity;
    expect(names(s.firstHops(T0 + DAY))).toEqual(names([b!, c!, d]));
    expect(s.guards.find((g) => toHex(g.identity) === toHex(a!))!.unlistedSince).toBe(T0 + DAY);
    s.update(net, T0 + 2 * DAY, seeded(9)); // back
    expect(names(s.primary.map((g) => g.identity))).toEqual(names([a!, b!, c!]));
    expect(names(s.firstHops(T0 + 2 * DAY))).toEqual(names([a!, b!, c!, d])); // d stays as a spare
    s.update(without, T0 + 3 * DAY, seeded(10));
    const gone = s.update(without, T0 + 3 * DAY + DEFAULT_GUARD_OPTIONS.removeUnlistedAfterMs, seeded(11));
    expect(gone.removed.map((r) => [names([r.guard.identity])[0], r.reason])).toEqual([[a![0], 'unlisted']]);
  });

  it('losing the Guard or Running flag counts as leaving', () => {
    const s = new GuardState({ primaryCount: 1 });
    s.update(consensus([relay(1), relay(2)]), T0, seeded(12));
    const [g] = s.firstHops(T0);
    const demoted = consensus([relay(1), relay(2)].map((r) => (r.identity[0] === g![0] ? { ...r, flags: RUNNING | FAST } : r)));
    s.update(demoted, T0 + 1, seeded(13));
    expect(names(s.firstHops(T0 + 1))).not.toContain(g![0]);
    expect(s.firstHops(T0 + 1)).toHaveLength(1);
  });

  it('guards expire lifetimeMs after they were sampled and are replaced', () => {
    const s = new GuardState({ lifetimeMs: 10 * DAY });
    s.update(net, T0, seeded(14));
    const before = guardNames(s);
    const changes = s.update(net, T0 + 10 * DAY, seeded(15));
    expect(changes.removed.map((r) => r.reason)).toEqual(['expired', 'expired', 'expired']);
    expect(changes.added).toHaveLength(3);
    expect(s.guards.every((g) => g.sampledAt === T0 + 10 * DAY)).toBe(true);
    expect(before).toHaveLength(3);
  });

  it('a full sample drops its longest-missing guard to make room', () => {
    const s = new GuardState({ primaryCount: 1, maxSampled: 2 });
    const relays = [1, 2, 3, 4].map((i) => relay(i));
    s.update(consensus(relays), T0, seeded(16));
    const [first] = guardNames(s);
    s.update(consensus(relays.filter((r) => r.identity[0] !== first)), T0 + 1, seeded(17));
    const [, second] = guardNames(s);
    const changes = s.update(consensus(relays.filter((r) => r.identity[0] !== first && r.identity[0] !== second)), T0 + 2, seeded(18));
    expect(changes.removed.map((r) => [r.guard.identity[0], r.reason])).toEqual([[first, 'sample full']]);
    expect(s.guards).toHaveLength(2);
  });

  it('feeds path selection: the first usable guard is the first hop, a failed one is skipped', () => {
    const s = new GuardState(TESTNET_GUARD_OPTIONS);
    s.update(net, T0, seeded(19));
    const hops = s.firstHops(T0);
    const rng = seeded(20);
    for (let i = 0; i < 50; i++) {
      const path = selectPath(net, { allowSameSubnet: false, rng, guards: s.firstHops(T0) });
      expect(toHex(path[0]!.identity)).toBe(path[2]!.identity[0] === hops[0]![0] ? toHex(hops[1]!) : toHex(hops[0]!));
    }
    s.recordFailure(hops[0]!, T0);
    const path = selectPath(net, { allowSameSubnet: false, rng, guards: s.firstHops(T0 + 10) });
    expect(toHex(path[0]!.identity)).not.toBe(toHex(hops[0]!));
  });

  it('refuses bad options', () => {
    expect(codeOf(() => new GuardState({ primaryCount: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new GuardState({ primaryCount: 3, maxSampled: 2 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => new GuardState({ retryBaseMs: -1 }))).toBe('INVALID_ARGUMENT');
  });
});

describe('guard-store', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'chive-guards-'));

  it('persists across a reload: same guards, order, confirmation, back-off; file mode 0600', () => {
    const path = guardStatePath(dir());
    expect(path.endsWith(GUARDS_FILE)).toBe(true);
    const s = loadGuardState(path); // missing file: fresh
    expect(s.guards).toHaveLength(0);
    s.update(net, T0, seeded(21));
    const [a, b] = s.firstHops(T0);
    s.recordSuccess(b!, T0 + 5);
    s.recordFailure(a!, T0 + 6);
    saveGuardState(path, s);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const back = loadGuardState(path);
    expect(back.guards).toEqual(s.guards);
    expect(back.toJSON()).toEqual(s.toJSON());
    expect(names(back.firstHops(T0 + 7))).toEqual(names(s.firstHops(T0 + 7)));
    back.update(net, T0 + 8, seeded(22));
    expect(guardNames(back)).toEqual(guardNames(s)); // the same guards keep being used
  });

  it('refuses a corrupt file with CLIENT_STATE_CORRUPT naming the path', () => {
    const d = dir();
    const path = join(d, GUARDS_FILE);
    const good = { identity: toHex(id(1)), nickname: 'relay1', sampledAt: T0, failures: 0 };
    const cases: unknown[] = [
      'not json', { version: 2, guards: [] }, { version: 1 }, { version: 1, guards: [{ ...good, identity: 'xyz' }] },
      { version: 1, guards: [good, good] }, { version: 1, guards: [{ ...good, sampledAt: -1 }] },
      { version: 1, guards: [{ ...good, failures: 1.5 }] }, { version: 1, guards: [{ ...good, retryAt: 'soon' }] },
    ];
    for (const c of cases) {
      writeFileSync(path, typeof c === 'string' ? c : JSON.stringify(c));
      expect(codeOf(() => loadGuardState(path))).toBe('CLIENT_STATE_CORRUPT');
      expect(() => loadGuardState(path)).toThrow(path);
    }
    writeFileSync(path, JSON.stringify({ version: 1, guards: [good] }));
    expect(guardNames(loadGuardState(path))).toEqual([1]);
    expect(readFileSync(path, 'utf8')).toContain('relay1');
  });
});

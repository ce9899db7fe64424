/**
 * Path selection (client/path-selection.ts): the rules (Running only, no relay twice, no
 * family, no /16, exit policy, guards first, exclusions, pinned last hop) as a property
 * over random consensuses; the weighting as statistical tests over 20,000 seeded draws
 * (chi-square against the exact expected distribution of each position, with the
 * critical value at p = 0.001, and every relay within a binomial bound with the same
 * family-wise error); and every impossible request as a typed error saying why.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toHex } from '../../src/bytes.js';
import { isChiveError } from '../../src/errors.js';
import { type ConsensusRelay, dangerouslyAssumeCheckedConsensus, parseExitPolicy } from '../../src/dirdoc/index.js';
import { RelayFlag } from '../../src/wire/constants.js';
import { checkRelayInfo } from '../../client/relay-info.js';
import {
  type PathOptions, ZERO_WEIGHT_FLOOR_FRACTION, effectiveWeights, exitPolicyMightAllowPort, relayAllowsTarget,
  relayInfoFromConsensus, sameFamily, selectPath, subnetKey, unitRngFrom,
} from '../../client/path-selection.js';
import { seeded } from '../support/seeded.js';

const { RUNNING, FAST, GUARD, EXIT, STABLE } = RelayFlag;
const ALL = RUNNING | FAST | GUARD | STABLE;
const ACCEPT_8080 = parseExitPolicy('accept 127.0.0.1/32:8080, reject *:*');
const ACCEPT_ALL = parseExitPolicy('accept *:*');


function id(i: number): Uint8Array {
  const k = new Uint8Array(32).fill(0x11);
  k[0] = i >> 8;
  k[1] = i & 0xff;
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

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isChiveError(e) ? e.code : `not a ChiveError: ${String(e)}`;
  }
}

// ---- statistics -------------------------------------------------------------------

/** Standard normal upper tail, Abramowitz & Stegun 26.2.17 (|error| < 7.5e-8). */
function normalUpperTail(z: number): number {
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const poly = t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  const tail = (Math.exp(-z * z / 2) / Math.sqrt(2 * Math.PI)) * poly;
  return z >= 0 ? tail : 1 - tail;
}

/** z with upper tail p, by bisection. */
function normalQuantileUpper(p: number): number {
  let lo = 0;
  let hi = 40;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normalUpperTail(mid) > p) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Chi-square critical value for `df` degrees of freedom at upper tail p (Wilson–Hilferty). */
function chiSquareCritical(df: number, p: number): number {
  const z = normalQuantileUpper(p);
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

const ALPHA = 0.001;

/** Chi-square and per-relay binomial checks of observed counts against expected probabilities. */
function expectDistribution(counts: Map<string, number>, expected: Map<string, number>, draws: number): void {
  const cells = [...expected].filter(([, p]) => p > 0);
  for (const key of counts.keys()) expect(expected.get(key) ?? 0, `drawn ${key} has probability 0`).toBeGreaterThan(0);
  let chi2 = 0;
  // Bonferroni: each of k two-sided per-relay checks at ALPHA / k.
  const z = normalQuantileUpper(ALPHA / (2 * cells.length));
  for (const [key, p] of cells) {
    const observed = counts.get(key) ?? 0;
    const mean = draws * p;
    chi2 += (observed - mean) ** 2 / mean;
    const sd = Math.sqrt(draws * p * (1 - p));
    expect(Math.abs(observed - mean), `${key}: ${observed} draws, expected ${mean.toFixed(1)} ± ${sd.toFixed(1)}`).toBeLessThanOrEqual(z * sd);
  }
  expect(chi2).toBeLessThan(chiSquareCritical(cells.length - 1, ALPHA));
}

function tally(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

describe('helpers', () => {
  it('the statistics helpers match tabulated values', () => {
    expect(normalQuantileUpper(0.025)).toBeCloseTo(1.95996, 3);
    expect(normalQuantileUpper(0.001)).toBeCloseTo(3.09023, 3);
    expect(chiSquareCritical(7, 0.001)).toBeCloseTo(24.32, 0); // table: 24.322
    expect(chiSquareCritical(20, 0.001)).toBeCloseTo(45.31, 0); // table: 45.315
  });

  it('unitRngFrom maps 53 random bits into [0, 1)', () => {
    expect(unitRngFrom((n) => new Uint8Array(n))()).toBe(0);
    const top = unitRngFrom((n) => new Uint8Array(n).fill(0xff))();
    expect(top).toBeLessThan(1);
    expect(top).toBe(1 - 2 ** -53);
    const half = unitRngFrom((n) => Uint8Array.from({ length: n }, (_, i) => (i === 0 ? 0x80 : 0)))();
    expect(half).toBe(0.5);
  });

  it('zero weights get the documented floor, all-zero networks are uniform', () => {
    const rs = [relay(1, { weight: 100 }), relay(2, { weight: 300 }), relay(3, { weight: 0 })];
    const w = effectiveWeights(rs);
    expect(w.get(rs[2]!)).toBe(200 * ZERO_WEIGHT_FLOOR_FRACTION);
    expect(w.get(rs[1]!)).toBe(300);
    const zeros = [relay(1, { weight: 0 }), relay(2, { weight: 0 })];
    expect([...effectiveWeights(zeros).values()]).toEqual([1, 1]);
  });

  it('subnets are IPv4 /16s or host names; families count when either side lists the other', () => {
    expect(subnetKey('ws://10.1.2.3:1')).toBe(subnetKey('wss://10.1.200.9:2'));
    expect(subnetKey('ws://10.1.2.3:1')).not.toBe(subnetKey('ws://10.2.2.3:1'));
    expect(subnetKey('ws://relay.example.org:1')).toBe(subnetKey('ws://relay.example.org:2'));
    expect(subnetKey('ws://relay.example.org:1')).not.toBe(subnetKey('ws://other.example.org:1'));
    const a = relay(1, { family: [id(2)] });
    expect(sameFamily(a, relay(2))).toBe(true);
    expect(sameFamily(relay(2), a)).toBe(true);
    expect(sameFamily(a, relay(3))).toBe(false);
  });

  it('a host name target needs a policy that might allow its port', () => {
    expect(exitPolicyMightAllowPort(ACCEPT_8080, 8080)).toBe(true);
    expect(exitPolicyMightAllowPort(ACCEPT_8080, 80)).toBe(false);
    expect(exitPolicyMightAllowPort(parseExitPolicy('reject *:8080, accept *:*'), 8080)).toBe(false);
    expect(exitPolicyMightAllowPort([], 80)).toBe(false);
    expect(relayAllowsTarget(relay(1, { exitPolicy: ACCEPT_8080 }), { host: 'example.org', port: 8080 })).toBe(true);
    expect(relayAllowsTarget(relay(1, { exitPolicy: ACCEPT_8080 }), { host: '127.0.0.2', port: 8080 })).toBe(false);
  });

  it('relayInfoFromConsensus gives what the circuit builder checks', () => {
    const info = relayInfoFromConsensus(relay(4));
    expect(() => checkRelayInfo(info)).not.toThrow();
    expect(info.url).toBe('ws://10.4.0.1:9000');
    expect(info.nickname).toBe('relay4');
  });
});

describe('selectPath: rules', () => {
  const exits = [relay(1, { flags: ALL | EXIT, exitPolicy: ACCEPT_8080 }), relay(2, { flags: ALL | EXIT, exitPolicy: ACCEPT_ALL })];
  const others = [3, 4, 5, 6].map((i) => relay(i));
  const net = consensus([...exits, ...others]);
  const base: PathOptions = { allowSameSubnet: false, rng: seeded(1) };

  it('builds 3 distinct hops ending at an exit that allows the target', () => {
    const rng = seeded(7);
    for (let i = 0; i < 200; i++) {
      const path = selectPath(net, { ...base, rng, target: { host: '127.0.0.1', port: 8080 } });
      expect(path).toHaveLength(3);
      expect(new Set(path.map((r) => toHex(r.identity))).size).toBe(3);
      expect(relayAllowsTarget(path[2]!, { host: '127.0.0.1', port: 8080 })).toBe(true);
      const port80 = selectPath(net, { ...base, rng, target: { host: '127.0.0.1', port: 80 } });
      expect(port80[2]!.nickname).toBe('relay2');
    }
  });

  it('skips relays that are not Running, and excluded ones', () => {
    const down = consensus([...exits, relay(3, { flags: ALL & ~RUNNING }), relay(4), relay(5)]);
    const rng = seeded(3);
    for (let i = 0; i < 100; i++) {
      const path = selectPath(down, { ...base, rng, exclude: [id(5)] });
      expect(path.map((r) => r.nickname).sort()).toEqual(['relay1', 'relay2', 'relay4']);
    }
  });

  it('takes the first guard that fits, and pins the last hop when asked', () => {
    const rng = seeded(5);
    for (let i = 0; i < 100; i++) {
      const path = selectPath(net, { ...base, rng, guards: [id(9), id(4), id(3)], target: { host: '127.0.0.1', port: 8080 } });
      expect(path[0]!.nickname).toBe('relay4'); // relay9 is not in the consensus
      const pinned = selectPath(net, { ...base, rng, guards: [id(4), id(3)], lastHop: id(4) });
      expect(pinned[0]!.nickname).toBe('relay3'); // relay4 is the last hop, so the next guard
      expect(pinned[2]!.nickname).toBe('relay4');
    }
  });

  it('any number of hops from 1 to 8; a 1-hop path with guards is the first guard that can exit', () => {
    const many = consensus(Array.from({ length: 12 }, (_, i) => relay(i + 1, { flags: ALL | EXIT, exitPolicy: ACCEPT_ALL })));
    for (let hops = 1; hops <= 8; hops++) expect(selectPath(many, { ...base, hops })).toHaveLength(hops);
    const one = selectPath(net, { ...base, hops: 1, guards: [id(3), id(2)], target: { host: '127.0.0.1', port: 80 } });
    expect(one.map((r) => r.nickname)).toEqual(['relay2']);
  });

  it('property: no relay twice, no family, no /16, Running only, exit policy, guards and exclusions obeyed', () => {
    const relayArb = fc.record({
      flags: fc.integer({ min: 0, max: 0x3f }),
      running: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      weight: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 10_000_000 })),
      subnet: fc.integer({ min: 0, max: 9 }),
      host: fc.integer({ min: 1, max: 254 }),
      policy: fc.constantFrom('', 'accept *:*', 'accept 127.0.0.1/32:8080, reject *:*', 'reject *:80, accept *:*'),
      family: fc.uniqueArray(fc.integer({ min: 0, max: 24 }), { maxLength: 2 }),
    });
    fc.assert(fc.property(
      fc.array(relayArb, { minLength: 2, maxLength: 25 }),
      fc.record({
        hops: fc.integer({ min: 1, max: 5 }),
        target: fc.option(fc.record({ host: fc.constantFrom('127.0.0.1', '10.9.9.9', 'example.org'), port: fc.constantFrom(80, 8080, 443) }), { nil: undefined }),
        allowSameSubnet: fc.boolean(),
        guards: fc.option(fc.uniqueArray(fc.integer({ min: 0, max: 12 }), { minLength: 1, maxLength: 4 }), { nil: undefined }),
        exclude: fc.uniqueArray(fc.integer({ min: 0, max: 26 }), { maxLength: 2 }),
        seed: fc.integer(),
      }),
      (specs, o) => {
        const relays = specs.map((s, i) => relay(i, {
          flags: s.running ? s.flags | RUNNING : s.flags & ~RUNNING, weight: s.weight, address: `ws://10.${s.subnet}.${i}.${s.host}:9000`, exitPolicy: parseExitPolicy(s.policy),
          family: s.family.filter((f) => f !== i).map(id),
        }));
        const options: PathOptions = {
          hops: o.hops, target: o.target, allowSameSubnet: o.allowSameSubnet, rng: seeded(o.seed),
          guards: o.guards?.map(id), exclude: o.exclude.map(id),
        };
        let path: ConsensusRelay[];
        try {
          path = selectPath(consensus(relays), options);
        } catch (e) {
          expect(isChiveError(e) && ['PATH_NO_EXIT', 'PATH_NOT_ENOUGH_RELAYS', 'PATH_NO_GUARD'].includes(e.code), String(e)).toBe(true);
          return;
        }
        expect(path).toHaveLength(o.hops);
        const excluded = new Set(o.exclude.map((i) => toHex(id(i))));
        for (const r of path) {
          expect(r.flags & RUNNING).toBe(RUNNING);
          expect(excluded.has(toHex(r.identity))).toBe(false);
        }
        for (let i = 0; i < path.length; i++) {
          for (let j = i + 1; j < path.length; j++) {
            expect(toHex(path[i]!.identity)).not.toBe(toHex(path[j]!.identity));
            expect(sameFamily(path[i]!, path[j]!)).toBe(false);
            if (!o.allowSameSubnet) expect(subnetKey(path[i]!.address)).not.toBe(subnetKey(path[j]!.address));
          }
        }
        const last = path[path.length - 1]!;
        if (o.target) {
          expect(last.flags & EXIT).toBe(EXIT);
          expect(relayAllowsTarget(last, o.target)).toBe(true);
        }
        if (options.guards && o.hops > 1) {
          // The first hop is the first offered guard that is Running, not excluded and fits the last hop.
          const first = options.guards.map((g) => relays.find((r) => toHex(r.identity) === toHex(g)))
            .find((r) => r !== undefined && (r.flags & RUNNING) !== 0 && !excluded.has(toHex(r.identity)) &&
              toHex(r.identity) !== toHex(last.identity) && !sameFamily(r, last) &&
              (o.allowSameSubnet || subnetKey(r.address) !== subnetKey(last.address)));
          expect(first && toHex(first.identity)).toBe(toHex(path[0]!.identity));
        }
      },
    ), { numRuns: 1000 });
  });
});

describe('selectPath: weights (20,000 seeded draws, chi-square and binomial bounds at p = 0.001)', () => {
  const DRAWS = 20_000;

  it('a one-hop path is drawn in proportion to weight, zero weight at the floor', () => {
    const weights = [1, 2, 5, 10, 20, 50, 0, 12];
    const relays = weights.map((w, i) => relay(i, { weight: w * 1000 }));
    const eff = effectiveWeights(relays);
    const total = [...eff.values()].reduce((a, b) => a + b, 0);
    const expected = new Map(relays.map((r) => [r.nickname, eff.get(r)! / total]));
    const counts = new Map<string, number>();
    const rng = seeded(20_000);
    const net = consensus(relays);
    for (let i = 0; i < DRAWS; i++) tally(counts, selectPath(net, { hops: 1, allowSameSubnet: false, rng })[0]!.nickname);
    expectDistribution(counts, expected, DRAWS);
    expect(counts.get('relay6') ?? 0).toBeGreaterThan(0); // the floor gives a new relay a little traffic
  });

  it('every position of a 3-hop exit path follows the exact conditional weighting', () => {
    // Two exits (one Fast, one not: Fast preferred), Guard-preferred first hop, Fast-preferred middles.
    const relays = [
      relay(0, { flags: ALL | EXIT, exitPolicy: ACCEPT_ALL, weight: 3000 }),
      relay(1, { flags: ALL | EXIT, exitPolicy: ACCEPT_ALL, weight: 1000 }),
      relay(2, { flags: RUNNING | EXIT, exitPolicy: ACCEPT_ALL, weight: 9000 }), // not Fast: never drawn while Fast exits fit
      relay(3, { flags: ALL, weight: 4000 }),
      relay(4, { flags: ALL, weight: 2000 }),
      relay(5, { flags: RUNNING | FAST, weight: 6000 }), // not Guard: only a middle
      relay(6, { flags: RUNNING | FAST, weight: 1000 }),
      relay(7, { flags: RUNNING, weight: 5000 }), // neither Fast nor Guard: never drawn here
    ];
    const has = (r: ConsensusRelay, f: number) => (r.flags & f) !== 0;
    const prefer = (rs: ConsensusRelay[], f: number) => (rs.some((r) => has(r, f)) ? rs.filter((r) => has(r, f)) : rs);
    const dist = (rs: ConsensusRelay[]) => {
      const t = rs.reduce((a, r) => a + r.weight, 0);
      return rs.map((r) => [r, r.weight / t] as const);
    };
    // Exact law of (exit, first, middle) under the documented rules.
    const pExit = new Map<string, number>();
    const pFirst = new Map<string, number>();
    const pMiddle = new Map<string, number>();
    for (const [e, pe] of dist(prefer(relays.filter((r) => has(r, EXIT)), FAST))) {
      pExit.set(e.nickname, (pExit.get(e.nickname) ?? 0) + pe);
      for (const [f, pf] of dist(prefer(relays.filter((r) => r !== e), GUARD))) {
        pFirst.set(f.nickname, (pFirst.get(f.nickname) ?? 0) + pe * pf);
        for (const [m, pm] of dist(prefer(relays.filter((r) => r !== e && r !== f), FAST))) {
          pMiddle.set(m.nickname, (pMiddle.get(m.nickname) ?? 0) + pe * pf * pm);
        }
      }
    }
    const counts = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
    const rng = seeded(31_337);
    const net = consensus(relays);
    for (let i = 0; i < DRAWS; i++) {
      const path = selectPath(net, { allowSameSubnet: false, rng, target: { host: '192.0.2.1', port: 443 } });
      path.forEach((r, pos) => tally(counts[pos]!, r.nickname));
    }
    expectDistribution(counts[2]!, pExit, DRAWS);
    expectDistribution(counts[0]!, pFirst, DRAWS);
    expectDistribution(counts[1]!, pMiddle, DRAWS);
  });

  it('the statistical check itself rejects a wrong distribution (it is not vacuous)', () => {
    const relays = [1, 2, 3, 4].map((w, i) => relay(i, { weight: w * 1000 }));
    const counts = new Map<string, number>();
    const rng = seeded(99);
    const net = consensus(relays);
    for (let i = 0; i < DRAWS; i++) tally(counts, selectPath(net, { hops: 1, allowSameSubnet: false, rng })[0]!.nickname);
    const uniform = new Map(relays.map((r) => [r.nickname, 0.25]));
    expect(() => expectDistribution(counts, uniform, DRAWS)).toThrow();
    const slightlyOff = new Map(relays.map((r, i) => [r.nickname, [0.11, 0.2, 0.3, 0.39][i]!]));
    expect(() => expectDistribution(counts, slightlyOff, DRAWS)).toThrow();
  });
});

describe('selectPath: typed errors saying why', () => {
  const base: PathOptions = { allowSameSubnet: false, rng: seeded(2) };
  const plain = [1, 2, 3, 4].map((i) => relay(i));

  it('PATH_NO_EXIT when no exit allows the target', () => {
    const net = consensus([...plain, relay(5, { flags: ALL | EXIT, exitPolicy: ACCEPT_8080 })]);
    expect(() => selectPath(net, { ...base, target: { host: '127.0.0.1', port: 9090 } })).toThrow(/no Running Exit relay allows 127\.0\.0\.1:9090.*refuse/);
    expect(codeOf(() => selectPath(net, { ...base, target: { host: '127.0.0.1', port: 9090 } }))).toBe('PATH_NO_EXIT');
    expect(() => selectPath(consensus(plain), { ...base, target: { host: '127.0.0.1', port: 8080 } })).toThrow(/none of the 4 Running relays has the Exit flag/);
    expect(codeOf(() => selectPath(net, { ...base, lastHop: id(1), target: { host: '127.0.0.1', port: 8080 } }))).toBe('PATH_NO_EXIT');
  });

  it('PATH_NOT_ENOUGH_RELAYS with the count, the /16 hint, families and a missing last hop', () => {
    expect(() => selectPath(consensus(plain.slice(0, 2)), base)).toThrow(/3-hop path needs 3 Running relays; the consensus has 2/);
    const local = [1, 2, 3].map((i) => relay(i, { address: `ws://127.0.0.1:${9000 + i}` }));
    expect(() => selectPath(consensus(local), base)).toThrow(/3 distinct \/16 networks.*allowSameSubnet/);
    expect(selectPath(consensus(local), { ...base, allowSameSubnet: true })).toHaveLength(3);
    const family = [relay(1, { family: [id(2)] }), relay(2), relay(3)];
    expect(codeOf(() => selectPath(consensus(family), base))).toBe('PATH_NOT_ENOUGH_RELAYS');
    expect(() => selectPath(consensus(family), base)).toThrow(/family/);
    expect(codeOf(() => selectPath(consensus(plain), { ...base, lastHop: id(42) }))).toBe('PATH_NOT_ENOUGH_RELAYS');
    expect(codeOf(() => selectPath(consensus(plain), { ...base, exclude: [id(1), id(2)] }))).toBe('PATH_NOT_ENOUGH_RELAYS');
  });

  it('PATH_NO_GUARD when no offered guard is usable or fits', () => {
    expect(() => selectPath(consensus(plain), { ...base, guards: [id(7), id(8)] })).toThrow(/none of the 2 guards offered is a Running relay/);
    expect(codeOf(() => selectPath(consensus(plain), { ...base, guards: [] }))).toBe('PATH_NO_GUARD');
    const exit = relay(5, { flags: ALL | EXIT, exitPolicy: ACCEPT_ALL, family: [id(1)] });
    expect(codeOf(() => selectPath(consensus([...plain, exit]), { ...base, guards: [id(1)], target: { host: '10.0.0.1', port: 80 } }))).toBe('PATH_NO_GUARD');
  });

  it('INVALID_ARGUMENT for bad options', () => {
    const net = consensus(plain);
    expect(codeOf(() => selectPath(net, { ...base, hops: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => selectPath(net, { ...base, hops: 9 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => selectPath(net, { ...base, target: { host: '127.0.0.1', port: 0 } }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => selectPath(net, { ...base, rng: () => 1 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => selectPath(net, { ...base, allowSameSubnet: undefined as unknown as boolean }))).toBe('INVALID_ARGUMENT');
  });
});

/**
 * The soak judgement (testnet/growth-check.ts) on synthetic series, and the /proc parsers
 * of testnet/resource-sampler.ts on captured texts:
 *   - flat memory with noise, growth confined to the warm-up, a single GC peak: ok;
 *   - a steady leak, a leak in one process of several, a step after the warm-up: grew,
 *     naming the process, with growth / slope figures that match the series;
 *   - the 10 % boundary (≤ passes, above fails); the openFds metric;
 *   - too few samples after the warm-up, or none at all: not ok ("insufficient");
 *   - the order of the samples does not matter (property);
 *   - bad options are INVALID_ARGUMENT;
 *   - VmRSS and utime + stime are read from /proc texts, a command name with ") " included.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isChiveError } from '../../src/errors.js';
import { type GrowthSample, detectUnboundedGrowth } from '../../testnet/growth-check.js';
import { parseStatCpuTicks, parseStatusRssBytes, readProcessResources } from '../../testnet/resource-sampler.js';
import { seeded } from '../support/seeded.js';

const MIN = 60_000;
const MB = 1024 * 1024;
const SOAK = { warmupMs: 10 * MIN, maxGrowth: 0.10 };

/** One sample a minute for `minutes`, RSS = f(minute). */
function series(name: string, minutes: number, rssAt: (minute: number) => number, t0 = 1_000_000): GrowthSample[] {
  return Array.from({ length: minutes + 1 }, (_, m) => ({ name, t: t0 + m * MIN, rssBytes: Math.round(rssAt(m)) }));
}

describe('detectUnboundedGrowth', () => {
  it('passes flat memory with ±4 % noise over an hour', () => {
    const rand = seeded(7);
    const v = detectUnboundedGrowth(series('relay0', 60, () => 80 * MB * (1 + (rand() - 0.5) * 0.08)), SOAK);
    expect(v.ok).toBe(true);
    expect(v.problems).toEqual([]);
    expect(v.series).toHaveLength(1);
    expect(v.series[0]!.status).toBe('ok');
    expect(v.series[0]!.samples).toBe(51); // minutes 10..60
    expect(Math.abs(v.series[0]!.growth!)).toBeLessThan(0.05);
  });

  it('ignores growth during the warm-up (start-up, caches filling)', () => {
    const v = detectUnboundedGrowth(series('relay0', 60, (m) => (m < 10 ? 40 + 5 * m : 90) * MB), SOAK);
    expect(v.ok).toBe(true);
    expect(v.series[0]!.growth).toBe(0);
  });

  it('passes one garbage-collection peak, and reports it as peakGrowth', () => {
    const v = detectUnboundedGrowth(series('relay0', 60, (m) => (m === 35 ? 140 : 100) * MB), SOAK);
    expect(v.ok).toBe(true);
    expect(v.series[0]!.peakGrowth).toBeCloseTo(0.4, 5);
  });

  it('fails a steady leak, with growth and slope that match the series', () => {
    // 100 MB at minute 10, +0.5 MB a minute: 125 MB at minute 60.
    const v = detectUnboundedGrowth(series('relay3', 60, (m) => (100 + 0.5 * (m - 10)) * MB), SOAK);
    expect(v.ok).toBe(false);
    const s = v.series[0]!;
    expect(s.status).toBe('grew');
    // Medians of the first and last 3 samples: 100.5 MB and 124.5 MB.
    expect(s.baseline).toBe(Math.round(100.5 * MB));
    expect(s.final).toBe(Math.round(124.5 * MB));
    expect(s.growth).toBeCloseTo(124.5 / 100.5 - 1, 6);
    expect(s.slopePerHour).toBeCloseTo((30 * MB) / (100.5 * MB), 3);
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]).toMatch(/^relay3: rssBytes grew 23\.9 %/);
  });

  it('names only the leaking process among several', () => {
    const samples = [
      ...series('relays0-4', 60, () => 120 * MB),
      ...series('relays5-9', 60, (m) => (m < 30 ? 120 : 150) * MB),
      ...series('relays10-14', 60, (m) => 120 * MB + m * 1024),
    ];
    const v = detectUnboundedGrowth(samples, SOAK);
    expect(v.ok).toBe(false);
    expect(v.series.map((s) => [s.name, s.status])).toEqual([['relays0-4', 'ok'], ['relays5-9', 'grew'], ['relays10-14', 'ok']]);
    expect(v.problems).toHaveLength(1);
    expect(v.problems[0]).toContain('relays5-9');
  });

  it('allows exactly maxGrowth and refuses a little more', () => {
    const at = (end: number) => detectUnboundedGrowth(series('r', 60, (m) => (m < 35 ? 100 * MB : end)), SOAK);
    expect(at(110 * MB).ok).toBe(true);
    expect(at(110 * MB).series[0]!.growth).toBeCloseTo(0.1, 9);
    expect(at(111 * MB).ok).toBe(false);
  });

  it('judges open file descriptors when asked', () => {
    const samples = series('relay0', 60, () => 100 * MB).map((s, m) => ({ ...s, openFds: 20 + m }));
    expect(detectUnboundedGrowth(samples, SOAK).ok).toBe(true);
    const fds = detectUnboundedGrowth(samples, { ...SOAK, metric: 'openFds' });
    expect(fds.ok).toBe(false);
    expect(fds.metric).toBe('openFds');
    expect(fds.series[0]!.baseline).toBe(31);
    expect(fds.series[0]!.final).toBe(79);
  });

  it('is not ok when the run is too short to judge', () => {
    const short = detectUnboundedGrowth(series('relay0', 10, () => 100 * MB), SOAK); // only minute 10 is after the warm-up
    expect(short.ok).toBe(false);
    expect(short.series[0]!.status).toBe('insufficient');
    expect(short.problems[0]).toContain('too few to judge');
    const none = detectUnboundedGrowth([], SOAK);
    expect(none.ok).toBe(false);
    expect(none.problems).toEqual(['no samples to judge']);
  });

  it('counts the warm-up from startedAt when given', () => {
    const samples = series('relay0', 30, (m) => (m < 20 ? 100 : 130) * MB, 0);
    expect(detectUnboundedGrowth(samples, { ...SOAK, startedAt: 0 }).ok).toBe(false);
    // Started 15 minutes before the first sample: the warm-up ended before it, and the jump at 20 is judged.
    expect(detectUnboundedGrowth(samples, { ...SOAK, startedAt: -15 * MIN }).ok).toBe(false);
    // Started so late that the whole jump lies in the warm-up.
    expect(detectUnboundedGrowth(samples, { ...SOAK, startedAt: 11 * MIN }).ok).toBe(true);
  });

  it('does not depend on the order of the samples', () => {
    const base = [
      ...series('a', 40, (m) => (100 + (m % 3)) * MB),
      ...series('b', 40, (m) => (100 + m) * MB),
    ];
    const expected = detectUnboundedGrowth(base, SOAK);
    fc.assert(fc.property(fc.shuffledSubarray(base, { minLength: base.length, maxLength: base.length }), (shuffled) => {
      const v = detectUnboundedGrowth(shuffled, SOAK);
      expect(v.ok).toBe(expected.ok);
      expect([...v.series].sort((x, y) => x.name.localeCompare(y.name))).toEqual([...expected.series].sort((x, y) => x.name.localeCompare(y.name)));
    }), { numRuns: 50 });
  });

  it('refuses bad options', () => {
    for (const bad of [{ warmupMs: -1, maxGrowth: 0.1 }, { warmupMs: 0, maxGrowth: -0.1 }, { warmupMs: 0, maxGrowth: 0.1, windowMs: 0 }]) {
      const error = (() => {
        try {
          detectUnboundedGrowth(series('r', 5, () => MB), bad);
          return null;
        } catch (e) {
          return e;
        }
      })();
      expect(isChiveError(error, 'INVALID_ARGUMENT'), JSON.stringify(bad)).toBe(true);
    }
  });
});

describe('/proc parsers', () => {
  it('reads VmRSS in bytes', () => {
    const status = 'Name:\tnode\nState:\tS (sleeping)\nVmPeak:\t 1234 kB\nVmRSS:\t   81234 kB\nRssAnon:\t 60000 kB\n';
    expect(parseStatusRssBytes(status)).toBe(81234 * 1024);
    expect(parseStatusRssBytes('Name:\tkthreadd\nState:\tS\n')).toBeNull();
  });

  it('reads utime + stime after a command name holding ") " and spaces', () => {
    // Fields from 3 on: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …
    const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194304 100 0 0 0 1500 250 0 0 20 0 11 0 12345 0 0\n';
    expect(parseStatCpuTicks(stat)).toBe(1750);
    expect(parseStatCpuTicks('garbage')).toBeNull();
  });

  it('reads this process, and nothing for a pid that does not exist', () => {
    const own = readProcessResources(process.pid);
    if (process.platform !== 'linux') {
      expect(own).toBeNull();
      return;
    }
    expect(own).not.toBeNull();
    expect(own!.rssBytes).toBeGreaterThan(10 * MB);
    expect(own!.openFds).toBeGreaterThan(2);
    expect(own!.cpuMs).toBeGreaterThan(0);
    expect(readProcessResources(2 ** 22 + 12345)).toBeNull();
  });
});

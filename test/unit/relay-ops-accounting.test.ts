/**
 * Accounting (relay/accounting.ts) and the bandwidth meter (relay/bandwidth-meter.ts):
 *   - periods in UTC: a day, a week from Monday 00:00, a calendar month (December → January,
 *     a leap February);
 *   - hibernation once read + written bytes reach AccountingMax (reported once), waking at
 *     the next period with the count reset; the state saved and restored within a period,
 *     ignored from another period; a saved file that is not a state reads as none;
 *   - the meter adds what each link carried since the last poll, including the last bytes
 *     of a link that closed since.
 * No crypto is involved.
 */
import { describe, expect, it } from 'vitest';
import { Accounting, accountingPeriodBounds, parseAccountingState } from '../../relay/accounting.js';
import { BandwidthMeter, type MeteredLink } from '../../relay/bandwidth-meter.js';

const at = (iso: string): number => Date.parse(iso);
const DAY = 86_400_000;

describe('accounting periods (UTC)', () => {
  it('a day, a week from Monday, a calendar month', () => {
    expect(accountingPeriodBounds('day', at('2026-11-22T23:59:59.999Z'))).toEqual({ start: at('2026-11-22T00:00:00Z'), end: at('2026-11-23T00:00:00Z') });
    // 2026-11-22 is a Sunday: its week began on Monday the 16th.
    expect(accountingPeriodBounds('week', at('2026-11-22T12:00:00Z'))).toEqual({ start: at('2026-11-16T00:00:00Z'), end: at('2026-11-23T00:00:00Z') });
    expect(accountingPeriodBounds('week', at('2026-11-23T00:00:00Z')).start).toBe(at('2026-11-23T00:00:00Z'));
    expect(accountingPeriodBounds('month', at('2026-12-31T23:00:00Z'))).toEqual({ start: at('2026-12-01T00:00:00Z'), end: at('2027-01-01T00:00:00Z') });
    expect(accountingPeriodBounds('month', at('2028-02-10T00:00:00Z')).end - at('2028-02-01T00:00:00Z')).toBe(29 * DAY);
  });
});

describe('Accounting', () => {
  const t0 = at('2026-11-22T10:00:00Z');

  it('hibernates once the maximum is reached, once, and wakes in the next period', () => {
    const a = new Accounting({ max: 1000, period: 'day', now: t0 });
    expect(a.add(0, t0)).toBeNull();
    expect(a.add(600, t0 + 1000)).toBeNull();
    const ev = a.add(400, t0 + 2000);
    expect(ev).toEqual({ kind: 'hibernate', used: 1000, max: 1000, until: at('2026-11-23T00:00:00Z') });
    expect(a.hibernating).toBe(true);
    expect(a.add(50, t0 + 3000)).toBeNull(); // reported once
    expect(a.snapshot()).toMatchObject({ used: 1050, hibernating: true, period: 'day', periodStart: at('2026-11-22T00:00:00Z') });
    expect(a.add(0, at('2026-11-23T00:00:00Z'))).toEqual({ kind: 'wake', periodStart: at('2026-11-23T00:00:00Z') });
    expect(a.snapshot()).toMatchObject({ used: 0, hibernating: false, periodEnd: at('2026-11-24T00:00:00Z') });
  });

  it('restores a state saved in this period, ignores one from another; a full saved period hibernates at once', () => {
    const a = new Accounting({ max: 1000, period: 'month', now: t0 });
    a.add(700, t0);
    const saved = parseAccountingState(JSON.stringify(a.toJSON()));
    expect(saved).toEqual({ periodStart: at('2026-11-01T00:00:00Z'), bytes: 700 });
    const b = new Accounting({ max: 1000, period: 'month', now: t0 + DAY, saved });
    expect(b.snapshot().used).toBe(700);
    expect(b.add(300, t0 + DAY)?.kind).toBe('hibernate');
    const full = new Accounting({ max: 500, period: 'month', now: t0, saved });
    expect(full.add(0, t0)?.kind).toBe('hibernate');
    const nextMonth = new Accounting({ max: 1000, period: 'month', now: at('2026-12-02T00:00:00Z'), saved });
    expect(nextMonth.snapshot().used).toBe(0);
  });

  it('reads a damaged state file as none, and refuses a maximum of 0', () => {
    for (const text of ['', '{', '[]', 'null', '{"periodStart":"x","bytes":1}', '{"periodStart":1,"bytes":-5}']) expect(parseAccountingState(text)).toBeNull();
    expect(() => new Accounting({ max: 0, period: 'day', now: t0 })).toThrow(/maximum/);
  });
});

describe('BandwidthMeter', () => {
  it('adds what each link carried since the last poll, the last bytes of closed links included', () => {
    const link = (bytesIn: number, bytesOut: number): MeteredLink & { bytesIn: number; bytesOut: number; closed: boolean } => ({ bytesIn, bytesOut, closed: false });
    const a = link(100, 10);
    const b = link(0, 0);
    const m = new BandwidthMeter();
    expect(m.poll([a])).toEqual({ bytesRead: 100, bytesWritten: 10 });
    a.bytesIn = 150;
    b.bytesOut = 5;
    expect(m.poll([a, b])).toEqual({ bytesRead: 150, bytesWritten: 15 });
    a.bytesIn = 400; // then it closes, and is no longer among the open links
    a.closed = true;
    expect(m.poll([b])).toEqual({ bytesRead: 400, bytesWritten: 15 });
    a.bytesIn = 999; // forgotten once closed
    expect(m.poll([b])).toEqual({ bytesRead: 400, bytesWritten: 15 });
  });
});

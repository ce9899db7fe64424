/**
 * Bytes the relay has read and written on all its links since it started, from the links'
 * own counters (src/io/link.ts bytesIn / bytesOut: whole encrypted frames, as they went on
 * the wire). `poll` is given the links open now; it keeps the links it has seen, so the
 * bytes a link carried between the last poll and its closing are still counted. A link that
 * opened and closed between two polls is missed (a few hundred bytes of a handshake).
 *
 * Cheap enough to poll once a second and on every metrics scrape; nothing here touches the
 * cell hot path. Not accounting (relay/accounting.ts) and not rate limiting.
 */

/** What the meter reads of a link. */
export interface MeteredLink {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly closed: boolean;
}

export class BandwidthMeter {
  private readonly seen = new Map<MeteredLink, { in: number; out: number }>();
  private totalIn = 0;
  private totalOut = 0;

  /** Adds what every link carried since the last poll; returns the totals. */
  poll(open: Iterable<MeteredLink>): { bytesRead: number; bytesWritten: number } {
    for (const link of open) if (!this.seen.has(link)) this.seen.set(link, { in: 0, out: 0 });
    for (const [link, last] of this.seen) {
      const inNow = link.bytesIn;
      const outNow = link.bytesOut;
      this.totalIn += inNow - last.in;
      this.totalOut += outNow - last.out;
      last.in = inNow;
      last.out = outNow;
      if (link.closed) this.seen.delete(link);
    }
    return this.totals;
  }

  get totals(): { bytesRead: number; bytesWritten: number } {
    return { bytesRead: this.totalIn, bytesWritten: this.totalOut };
  }
}

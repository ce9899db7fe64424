/**
 * ClientStream (client/stream.ts) against a recording StreamHost, no network: writes cut
 * into DATA cells of maxDataLen, small writes coalesced, the write callback held while the
 * host or the stream window says no, END on end(), SENDMEs owed while the reader lags and
 * sent when it reads, half-close and the exit's END reasons, destroy, and the circuit
 * closing. Through both crypto providers (the package window compares tags with them).
 */
import { describe, expect, it } from 'vitest';
import { destroyReasonName, endReasonName } from '../../client/reason-names.js';
import { ClientStream, STREAM_READ_BUFFER_BYTES, type StreamHost } from '../../client/stream.js';
import { allCryptoProviders } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { ChiveError } from '../../src/errors.js';
import { DestroyReason, EndReason, MAX_BACKWARD_RELAY_DATA_LEN, ONION_TAG_LEN, STREAM_WINDOW_INCREMENT, STREAM_WINDOW_START } from '../../src/wire/constants.js';

const providers = allCryptoProviders().map((p) => [p.name, p] as const);

function tagOf(i: number): Uint8Array {
  const t = new Uint8Array(ONION_TAG_LEN);
  new DataView(t.buffer).setUint32(0, i + 1);
  return t;
}

class RecordingHost implements StreamHost {
  maxDataLen = 10;
  clock = 1000;
  allow = true;
  readonly cells: Uint8Array[] = [];
  readonly ends: number[] = [];
  readonly sendmes: Uint8Array[] = [];
  blockedCalls = 0;
  gone = 0;
  closeError: ChiveError | null = null;
  now(): number { return this.clock; }
  canSendData(): boolean { return this.allow; }
  sendData(_s: ClientStream, data: Uint8Array): Uint8Array {
    this.cells.push(Uint8Array.from(data));
    return tagOf(this.cells.length - 1);
  }
  sendEnd(_s: ClientStream, reason: number): void { this.ends.push(reason); }
  sendStreamSendme(_s: ClientStream, tag: Uint8Array): void { this.sendmes.push(Uint8Array.from(tag)); }
  blocked(): void { this.blockedCalls++; }
  streamGone(): void { this.gone++; }
}

function openStream(p: CryptoProvider, host = new RecordingHost()): { stream: ClientStream; host: RecordingHost } {
  const stream = new ClientStream(p, host, 7, 2, { host: 'example.test', port: 80 });
  host.clock += 5;
  stream.handleConnected();
  return { stream, host };
}

const tick = () => new Promise((r) => setImmediate(r));

describe.each(providers)('ClientStream (%s)', (_name, p) => {
  it('cuts a write into DATA cells of maxDataLen and calls back once all are handed over', async () => {
    const { stream, host } = openStream(p);
    const data = Uint8Array.from({ length: 95 }, (_, i) => i);
    let done = false;
    stream.write(data, () => { done = true; });
    await tick();
    expect(done).toBe(true);
    expect(host.cells.map((c) => c.length)).toEqual([10, 10, 10, 10, 10, 10, 10, 10, 10, 5]);
    expect(Buffer.concat(host.cells)).toEqual(Buffer.from(data));
    expect(stream.bytesWritten).toBe(95);
    expect(stream.openedAt).toBe(1000);
    expect(stream.connectedAt).toBe(1005);
  });

  it('coalesces small buffered writes into full cells', async () => {
    const { stream, host } = openStream(p);
    stream.cork();
    for (const s of ['ab', 'cd', 'ef', 'ghijklm']) stream.write(Buffer.from(s));
    stream.uncork();
    await tick();
    expect(host.cells.map((c) => Buffer.from(c).toString())).toEqual(['abcdefghij', 'klm']);
  });

  it('holds the write callback while the host cannot send, and goes on when pumped', async () => {
    const { stream, host } = openStream(p);
    host.allow = false;
    let done = false;
    stream.write(Buffer.alloc(25), () => { done = true; });
    await tick();
    expect(done).toBe(false);
    expect(host.cells).toHaveLength(0);
    expect(host.blockedCalls).toBe(1);
    host.allow = true;
    stream.pump();
    await tick();
    expect(done).toBe(true);
    expect(host.cells).toHaveLength(3);
  });

  it('stops at the stream window (500 cells) and goes on only with SENDMEs bearing the right tags', async () => {
    const { stream, host } = openStream(p);
    host.maxDataLen = 1;
    let done = false;
    stream.write(Buffer.alloc(STREAM_WINDOW_START + 60), () => { done = true; });
    await tick();
    expect(host.cells).toHaveLength(STREAM_WINDOW_START);
    expect(done).toBe(false);
    expect(() => stream.handleSendme(tagOf(STREAM_WINDOW_INCREMENT))).toThrow(expect.objectContaining({ code: 'FLOW_CONTROL_VIOLATION' }));
    stream.handleSendme(tagOf(STREAM_WINDOW_INCREMENT - 1));
    expect(host.cells).toHaveLength(STREAM_WINDOW_START + STREAM_WINDOW_INCREMENT);
    stream.handleSendme(tagOf(2 * STREAM_WINDOW_INCREMENT - 1));
    await tick();
    expect(host.cells).toHaveLength(STREAM_WINDOW_START + 60);
    expect(done).toBe(true);
  });

  it('end() sends END(DONE) after the writes, once', async () => {
    const { stream, host } = openStream(p);
    stream.write(Buffer.alloc(15));
    stream.end(Buffer.alloc(3));
    await new Promise((r) => stream.once('finish', r));
    expect(host.cells.map((c) => c.length)).toEqual([10, 5, 3]);
    expect(host.ends).toEqual([EndReason.DONE]);
  });

  it('pushes a copy of incoming DATA and records the first byte time', async () => {
    const { stream, host } = openStream(p);
    const data = Uint8Array.of(1, 2, 3);
    host.clock = 2000;
    stream.handleData(data, tagOf(0));
    data.fill(0);
    expect(stream.read()).toEqual(Buffer.of(1, 2, 3));
    expect(stream.bytesRead).toBe(3);
    expect(stream.firstByteAt).toBe(2000);
  });

  it('owes SENDMEs while its reader lags behind, and sends them when the reader reads', async () => {
    const { stream, host } = openStream(p);
    const cell = new Uint8Array(MAX_BACKWARD_RELAY_DATA_LEN);
    const cells = 4 * STREAM_WINDOW_INCREMENT;
    expect(cells * cell.length).toBeGreaterThan(STREAM_READ_BUFFER_BYTES + STREAM_WINDOW_INCREMENT * cell.length);
    for (let i = 0; i < cells; i++) stream.handleData(cell, tagOf(i));
    // Sent while the buffer was under its mark; owed after it.
    const sentEarly = Math.floor(STREAM_READ_BUFFER_BYTES / cell.length / STREAM_WINDOW_INCREMENT);
    expect(host.sendmes).toEqual(Array.from({ length: sentEarly }, (_, k) => tagOf((k + 1) * STREAM_WINDOW_INCREMENT - 1)));
    expect(stream.deliverWindow.owed).toBe(4 - sentEarly);
    while (stream.read() !== null) { /* drain */ }
    await tick();
    expect(host.sendmes).toEqual([1, 2, 3, 4].map((k) => tagOf(k * STREAM_WINDOW_INCREMENT - 1)));
    expect(stream.deliverWindow.window).toBe(STREAM_WINDOW_START);
  });

  it('refuses DATA past the window (FLOW_CONTROL_VIOLATION) when the reader never reads', () => {
    const { stream, host } = openStream(p);
    const cell = new Uint8Array(MAX_BACKWARD_RELAY_DATA_LEN);
    // SENDMEs sent before the read buffer filled up opened the window that much further.
    const sentEarly = Math.floor(STREAM_READ_BUFFER_BYTES / cell.length / STREAM_WINDOW_INCREMENT);
    const limit = STREAM_WINDOW_START + sentEarly * STREAM_WINDOW_INCREMENT;
    let i = 0;
    const error = (() => {
      try {
        for (; i < limit + 1; i++) stream.handleData(cell, tagOf(i));
      } catch (e) {
        return e as ChiveError;
      }
      return null;
    })();
    expect(error?.code).toBe('FLOW_CONTROL_VIOLATION');
    expect(i).toBe(limit);
    expect(host.sendmes).toHaveLength(sentEarly);
  });

  it('half-close: END(DONE) from the exit ends the readable side; writing goes on; owed SENDMEs are dropped', async () => {
    const { stream, host } = openStream(p);
    // Chunks this big fill the read buffer before the first increment completes.
    const chunk = new Uint8Array(Math.ceil(STREAM_READ_BUFFER_BYTES / (STREAM_WINDOW_INCREMENT - 1)));
    for (let i = 0; i < STREAM_WINDOW_INCREMENT; i++) stream.handleData(chunk, tagOf(i));
    expect(stream.deliverWindow.owed).toBe(1);
    stream.handleEnd(EndReason.DONE);
    expect(stream.accepts('DATA')).toBe(false);
    expect(stream.accepts('SENDME')).toBe(true);
    const ended = new Promise((r) => stream.once('end', r));
    stream.resume();
    await ended;
    expect(host.sendmes).toHaveLength(0);
    let written = false;
    stream.write(Buffer.alloc(4), () => { written = true; });
    await tick();
    expect(written).toBe(true);
    expect(host.gone).toBe(0);
    stream.end();
    await new Promise((r) => stream.once('finish', r));
    expect(host.ends).toEqual([EndReason.DONE]);
    expect(host.gone).toBe(1);
  });

  it('is forgotten only once the SENDMEs the exit owes for our DATA have come', async () => {
    const { stream, host } = openStream(p);
    host.maxDataLen = 1;
    stream.end(Buffer.alloc(60));
    await new Promise((r) => stream.once('finish', r));
    stream.handleEnd(EndReason.DONE);
    expect(host.gone).toBe(0);
    expect(stream.accepts('SENDME')).toBe(true);
    stream.handleSendme(tagOf(49));
    expect(host.gone).toBe(1);
  });

  it('an END other than DONE fails the stream with STREAM_CLOSED and sends no END back', async () => {
    const { stream, host } = openStream(p);
    const failed = new Promise<Error>((r) => stream.once('error', r));
    stream.handleEnd(EndReason.CONNECT_RESET);
    const error = await failed as ChiveError;
    expect(error.code).toBe('STREAM_CLOSED');
    expect(error.message).toContain('CONNECT_RESET');
    expect(host.ends).toEqual([]);
    expect(host.gone).toBe(1);
  });

  it('destroy(error) sends END(MISC); later DATA is acknowledged and dropped until the exit\'s END', async () => {
    const { stream, host } = openStream(p);
    stream.on('error', () => {});
    stream.destroy(new Error('the SOCKS client went away'));
    expect(host.ends).toEqual([EndReason.MISC]);
    expect(stream.discarding).toBe(true);
    for (let i = 0; i < STREAM_WINDOW_INCREMENT; i++) stream.handleData(new Uint8Array(10), tagOf(i));
    expect(stream.bytesRead).toBe(0);
    expect(host.sendmes).toEqual([tagOf(STREAM_WINDOW_INCREMENT - 1)]);
    expect(host.gone).toBe(0);
    stream.handleEnd(EndReason.DONE);
    expect(host.gone).toBe(1);
  });

  it('destroyed after the exit\'s END(DONE), it waits for the SENDMEs owed for its DATA before it is forgotten', async () => {
    const { stream, host } = openStream(p);
    host.maxDataLen = 1;
    stream.write(Buffer.alloc(STREAM_WINDOW_INCREMENT));
    await tick();
    stream.handleEnd(EndReason.DONE);
    stream.destroy();
    await tick();
    expect(host.ends).toEqual([EndReason.DONE]);
    expect(host.gone).toBe(0);
    expect(stream.accepts('SENDME')).toBe(true);
    expect(stream.accepts('DATA')).toBe(false);
    expect(() => stream.handleSendme(tagOf(0))).toThrow(expect.objectContaining({ code: 'FLOW_CONTROL_VIOLATION' }));
    stream.handleSendme(tagOf(STREAM_WINDOW_INCREMENT - 1));
    expect(host.gone).toBe(1);
  });

  it('a circuit closed from outside fails the stream with its error; one closed by us closes it quietly', async () => {
    const a = openStream(p);
    const failed = new Promise<Error>((r) => a.stream.once('error', r));
    let done: Error | null | undefined;
    a.host.allow = false;
    a.stream.write(Buffer.alloc(5), (e) => { done = e; });
    a.stream.handleCircuitClosed(new ChiveError('CIRCUIT_DESTROYED', 'DESTROY'));
    expect((await failed as ChiveError).code).toBe('CIRCUIT_DESTROYED');
    expect(done).toMatchObject({ code: 'CIRCUIT_DESTROYED' });

    const b = openStream(p);
    const errors: Error[] = [];
    b.stream.on('error', (e) => errors.push(e));
    b.stream.handleCircuitClosed(new ChiveError('CIRCUIT_CLOSED', 'destroyed by us'));
    await new Promise((r) => b.stream.once('close', r));
    expect(errors).toEqual([]);
    expect(b.stream.streamError?.code).toBe('CIRCUIT_CLOSED');
  });

  it('before CONNECTED only CONNECTED or END is accepted', () => {
    const stream = new ClientStream(p, new RecordingHost(), 1, 0, { host: 'h', port: 1 });
    expect(stream.accepts('DATA')).toBe(false);
    expect(stream.accepts('SENDME')).toBe(false);
    expect(stream.accepts('CONNECTED')).toBe(true);
    expect(stream.accepts('END')).toBe(true);
    stream.handleConnected();
    expect(stream.accepts('CONNECTED')).toBe(false);
    expect(stream.accepts('DATA')).toBe(true);
  });

  it('names END and DESTROY reasons, and unknown codes by number', () => {
    expect(endReasonName(EndReason.EXIT_POLICY)).toBe('EXIT_POLICY');
    expect(endReasonName(200)).toBe('reason 200');
    expect(destroyReasonName(DestroyReason.CONNECT_FAILED)).toBe('CONNECT_FAILED');
    expect(destroyReasonName(99)).toBe('reason 99');
  });
});

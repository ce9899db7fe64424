/**
 * A cell-level circuit driver for hostile-input tests: it speaks the wire directly (NK link,
 * CREATE2, EXTEND2 through ClientLayers) so tests can also send what no honest client would.
 * Honest circuit building for users lives in client/; this is the tests' scalpel.
 */
import { randomBytes } from 'node:crypto';
import type { CryptoProvider, Rng } from '../../src/crypto/provider.js';
import { connectLink } from '../../src/io/link-connect.js';
import type { Link } from '../../src/io/link.js';
import { ntorClientCreate, ntorClientFinish } from '../../src/handshake/ntor.js';
import { ClientLayers, maxForwardBody } from '../../src/onion/client-layers.js';
import { hopKeysFromMaterial } from '../../src/onion/hop-keys.js';
import { decodeCell, encodeCell, readCellCircId } from '../../src/wire/cell.js';
import { CELL_LEN, CellCommand, CIRC_ID_INITIATOR_BIT, HandshakeType } from '../../src/wire/constants.js';
import { linkSpecifiersFor } from '../../src/wire/link-specifiers.js';
import { decodeRelayMessageInCell, encodeRelayMessage, type RelayMessage } from '../../src/wire/relay-message.js';
import type { ListedRelay } from '../../relay/index.js';

export const testRng: Rng = (n) => new Uint8Array(randomBytes(n));

export type RawEvent =
  | { kind: 'relay'; hop: number; msg: RelayMessage }
  | { kind: 'destroy'; reason: number }
  | { kind: 'created2'; data: Uint8Array }
  | { kind: 'bad'; error: unknown };

/** One NK link to a first hop; several raw circuits may share it. */
export class RawLink {
  private readonly handlers = new Map<number, (cell: Uint8Array) => void>();
  private constructor(readonly link: Link, readonly provider: CryptoProvider) {
    link.onCell((buf, off) => {
      const cell = new Uint8Array(buf.subarray(off, off + CELL_LEN)); // a copy (Buffer#slice is a view)
      this.handlers.get(readCellCircId(cell, 0))?.(cell);
    });
  }

  static async open(provider: CryptoProvider, first: ListedRelay): Promise<RawLink> {
    const link = await connectLink({ provider, rng: testRng, url: first.url, pattern: 'NK', remoteStatic: first.linkKey });
    return new RawLink(link, provider);
  }

  newCircId(): number {
    return ((randomBytes(4).readUInt32BE(0) & 0x7fff_ffff) | CIRC_ID_INITIATOR_BIT) >>> 0;
  }

  on(circId: number, handler: (cell: Uint8Array) => void): void {
    this.handlers.set(circId, handler);
  }
}

export class RawCircuit {
  readonly layers: ClientLayers;
  readonly events: RawEvent[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly raw: RawLink, readonly circId: number) {
    this.layers = new ClientLayers(raw.provider);
    raw.on(circId, (cell) => this.onCell(cell));
  }

  private onCell(cell: Uint8Array): void {
    try {
      const c = decodeCell(cell);
      if (c.kind === 'DESTROY') this.events.push({ kind: 'destroy', reason: c.reason });
      else if (c.kind === 'CREATED2') this.events.push({ kind: 'created2', data: c.handshakeData });
      else if (c.kind === 'RELAY') {
        const { hop, body } = this.layers.decryptBackward(c.payload.slice());
        this.events.push({ kind: 'relay', hop, msg: decodeRelayMessageInCell(body) });
      }
    } catch (error) {
      this.events.push({ kind: 'bad', error });
    }
    const w = this.waiters;
    this.waiters = [];
    w.forEach((f) => f());
  }

  /** Waits for the next event matching `pred` (consuming events before it). */
  async next(pred: (e: RawEvent) => boolean = () => true, timeoutMs = 5000): Promise<RawEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.events.findIndex(pred);
      if (i >= 0) return this.events.splice(0, i + 1)[i]!;
      if (Date.now() > deadline) throw new Error(`timed out waiting; events so far: ${JSON.stringify(this.events.map((e) => e.kind))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  sendCreate2(onionskin: Uint8Array): void {
    this.raw.link.sendRawCell(
      encodeCell({ kind: 'CREATE2', circId: this.circId, handshakeType: HandshakeType.NTOR, handshakeData: onionskin }, testRng),
    );
  }

  async create(first: ListedRelay): Promise<void> {
    const { state, onionskin } = ntorClientCreate(this.raw.provider, testRng, { nodeId: first.identity, onionKey: first.onionKey });
    this.sendCreate2(onionskin);
    const e = await this.next((x) => x.kind === 'created2' || x.kind === 'destroy');
    if (e.kind !== 'created2') throw new Error(`CREATE2 refused: ${JSON.stringify(e)}`);
    this.layers.addHop(hopKeysFromMaterial(ntorClientFinish(this.raw.provider, state, e.data)));
  }

  async extend(next: ListedRelay): Promise<RawEvent> {
    const { state, onionskin } = ntorClientCreate(this.raw.provider, testRng, { nodeId: next.identity, onionKey: next.onionKey });
    this.send(this.layers.hopCount - 1, {
      kind: 'EXTEND2',
      linkSpecifiers: linkSpecifiersFor({ url: next.url, identity: next.identity, linkKey: next.linkKey }),
      handshakeType: HandshakeType.NTOR,
      handshakeData: onionskin,
    });
    const e = await this.next((x) => x.kind !== 'bad' || true);
    if (e.kind === 'relay' && e.msg.kind === 'EXTENDED2') {
      this.layers.addHop(hopKeysFromMaterial(ntorClientFinish(this.raw.provider, state, e.msg.handshakeData)));
    }
    return e;
  }

  /** Builds the payload for `hop` and sends it (returns the payload sent). */
  send(hop: number, msg: RelayMessage): Uint8Array {
    const payload = this.layers.encryptForward(hop, encodeRelayMessage(msg, maxForwardBody(hop) - 5), testRng);
    this.raw.link.sendCell(this.circId, CellCommand.RELAY, payload);
    return payload;
  }

  sendPayload(payload: Uint8Array): void {
    this.raw.link.sendCell(this.circId, CellCommand.RELAY, payload);
  }
}

/** Builds a fresh circuit through `path` on `raw`. */
export async function rawCircuit(raw: RawLink, path: ListedRelay[]): Promise<RawCircuit> {
  const c = new RawCircuit(raw, raw.newCircId());
  await c.create(path[0]!);
  for (const hop of path.slice(1)) {
    const e = await c.extend(hop);
    if (!(e.kind === 'relay' && e.msg.kind === 'EXTENDED2')) throw new Error(`extend failed: ${JSON.stringify(e)}`);
  }
  return c;
}

/**
 * The relay's chat roles: introduction point, rendezvous point and HSDir. Handles the
 * chat relay messages a relay may receive as the last hop of a circuit (ESTABLISH_INTRO,
 * INTRODUCE1, ESTABLISH_RENDEZVOUS, RENDEZVOUS1, HSDIR_STORE, HSDIR_FETCH) and answers
 * them; every other chat message (those only clients receive, CHAT frames, anything at a
 * middle hop or on a spliced circuit) throws UNEXPECTED_MESSAGE and the cell engine closes
 * the circuit. A malformed INTRODUCE1 or descriptor is answered with a status and the
 * circuit stays (the sender learns why); a reused or unknown cookie closes the circuit.
 *
 * The relay never learns who chats with whom: it sees auth keys, cookies, blinded keys
 * and sealed bytes, and logs none of them. Not here: the splicing of cells (relay-node.ts).
 */
import { toHex } from '../src/bytes.js';
import { timePeriod } from '../src/chat/blinding.js';
import {
  checkEstablishIntro, decodeEstablishRendezvous, decodeHsdirFetch, decodeRendezvous1,
  encodeHsdirFound, encodeHsdirStored, encodeIntroduceAck, encodeRendezvous2, parseIntroduce1,
} from '../src/chat/intro-messages.js';
import { ChiveError, isChiveError } from '../src/errors.js';
import type { Link } from '../src/io/link.js';
import { HsdirFetchStatus, HsdirStoreStatus, IntroduceAckStatus } from '../src/wire/constants.js';
import type { ChatRelayMessage } from '../src/wire/relay-message.js';
import type { RelayCircuit } from './circuit.js';
import { HsdirStore } from './hsdir-store.js';
import { IntroPointTable, RendezvousTable } from './rendezvous-points.js';
import type { RelayNode } from './relay-node.js';

const EMPTY = new Uint8Array(0);

export class RelayChatRoles {
  readonly intro: IntroPointTable;
  readonly rendezvous: RendezvousTable;
  readonly hsdir: HsdirStore;
  private readonly sourceIds = new WeakMap<Link, string>();
  private nextSource = 0;

  constructor(private readonly node: RelayNode) {
    const limits = node.limits;
    this.intro = new IntroPointTable(limits.maxIntroCircuits);
    this.rendezvous = new RendezvousTable(limits.maxRendezvousCookies);
    this.hsdir = new HsdirStore(node.provider, {
      maxDescriptors: limits.hsdirMaxDescriptors,
      perSourceQuota: limits.hsdirPerSourceQuota,
      lifetimeMs: limits.hsdirDescriptorLifetimeMs,
    });
  }

  handle(circ: RelayCircuit, msg: ChatRelayMessage): void {
    if (circ.next || circ.extending || circ.spliced) {
      throw new ChiveError('UNEXPECTED_MESSAGE', `${msg.kind} is only accepted at the last hop of an unspliced circuit`);
    }
    const node = this.node;
    switch (msg.kind) {
      case 'ESTABLISH_INTRO': {
        const { authKey } = checkEstablishIntro(node.provider, msg.body, node.keys.identity);
        this.guard(() => this.intro.establish(toHex(authKey), circ), 'intro_limit');
        node.counters.chat.introEstablished += 1;
        node.sendBackward(circ, { kind: 'INTRO_ESTABLISHED', body: EMPTY });
        return;
      }
      case 'INTRODUCE1': {
        if (circ.chatRole) throw new ChiveError('UNEXPECTED_MESSAGE', 'INTRODUCE1 on a circuit with a chat role');
        let authKey: Uint8Array;
        try {
          ({ authKey } = parseIntroduce1(msg.body));
        } catch (e) {
          if (!isChiveError(e) || e.fault === 'local') throw e;
          node.counters.refuse('bad_chat_message');
          node.sendBackward(circ, { kind: 'INTRODUCE_ACK', body: encodeIntroduceAck(IntroduceAckStatus.MALFORMED) });
          return;
        }
        const target = this.intro.lookup(toHex(authKey));
        if (!target) {
          node.counters.refuse('no_such_intro');
          node.sendBackward(circ, { kind: 'INTRODUCE_ACK', body: encodeIntroduceAck(IntroduceAckStatus.NO_SUCH_INTRO) });
          return;
        }
        node.sendBackward(target, { kind: 'INTRODUCE2', body: msg.body });
        node.counters.chat.introductions += 1;
        node.sendBackward(circ, { kind: 'INTRODUCE_ACK', body: encodeIntroduceAck(IntroduceAckStatus.OK) });
        return;
      }
      case 'ESTABLISH_RENDEZVOUS': {
        const cookie = decodeEstablishRendezvous(msg.body);
        this.guard(() => this.rendezvous.establish(toHex(cookie), circ), 'rendezvous_limit');
        node.sendBackward(circ, { kind: 'RENDEZVOUS_ESTABLISHED', body: EMPTY });
        return;
      }
      case 'RENDEZVOUS1': {
        if (circ.chatRole) throw new ChiveError('UNEXPECTED_MESSAGE', 'RENDEZVOUS1 on a circuit with a chat role');
        const { cookie, reply } = decodeRendezvous1(msg.body);
        const waiting = this.rendezvous.take(toHex(cookie));
        if (!waiting) {
          node.counters.refuse('unknown_cookie');
          throw new ChiveError('UNKNOWN_COOKIE', 'RENDEZVOUS1 for a cookie nobody waits with');
        }
        circ.spliced = waiting;
        waiting.spliced = circ;
        node.counters.chat.rendezvousSpliced += 1;
        node.sendBackward(waiting, { kind: 'RENDEZVOUS2', body: encodeRendezvous2(reply) });
        return;
      }
      case 'HSDIR_STORE': {
        let status: number;
        try {
          status = this.hsdir.store(msg.body, this.sourceOf(circ), node.now(), timePeriod(node.now()));
        } catch (e) {
          if (!isChiveError(e) || e.fault === 'local') throw e;
          status = HsdirStoreStatus.REJECTED;
        }
        if (status === HsdirStoreStatus.STORED) node.counters.chat.hsdirStored += 1;
        else node.counters.refuse(status === HsdirStoreStatus.OVER_QUOTA ? 'hsdir_quota' : 'hsdir_rejected');
        node.sendBackward(circ, { kind: 'HSDIR_STORED', body: encodeHsdirStored(status) });
        return;
      }
      case 'HSDIR_FETCH': {
        const { blindedKey, period } = decodeHsdirFetch(msg.body);
        const found = this.hsdir.fetch(blindedKey, period, node.now());
        node.counters.chat.hsdirFetched += 1;
        if (found) node.counters.chat.hsdirFound += 1;
        const body = found ? encodeHsdirFound(HsdirFetchStatus.FOUND, found) : encodeHsdirFound(HsdirFetchStatus.NOT_FOUND);
        node.sendBackward(circ, { kind: 'HSDIR_FOUND', body });
        return;
      }
      default:
        throw new ChiveError('UNEXPECTED_MESSAGE', `relay message ${msg.kind} is not accepted by a relay`);
    }
  }

  /** A circuit closed: it leaves whichever table holds it. */
  forget(circ: RelayCircuit): void {
    if (circ.chatRole?.kind === 'intro') this.intro.forget(circ);
    else if (circ.chatRole?.kind === 'rendezvous') this.rendezvous.forget(circ);
    circ.chatRole = null;
  }

  /** Periodic upkeep: expired descriptors go. */
  sweep(): void {
    this.hsdir.expire(this.node.now());
  }

  private guard(fn: () => void, limitReason: 'intro_limit' | 'rendezvous_limit'): void {
    try {
      fn();
    } catch (e) {
      if (isChiveError(e, 'RESOURCE_LIMIT')) this.node.counters.refuse(limitReason);
      else if (isChiveError(e, 'COOKIE_REUSED')) this.node.counters.refuse('cookie_reuse');
      throw e;
    }
  }

  private sourceOf(circ: RelayCircuit): string {
    const link = circ.prev.link;
    const state = this.node.links.get(link);
    if (state?.neighbourIdentity) return state.neighbourIdentity;
    let id = this.sourceIds.get(link);
    if (id === undefined) {
      id = `link-${++this.nextSource}`;
      this.sourceIds.set(link, id);
    }
    return id;
  }
}

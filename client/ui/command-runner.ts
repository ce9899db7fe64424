/**
 * Carries out what the user typed: a parsed line (commands.ts) → ChatApi calls → the UI
 * actions that record their results. Every ChatApi failure (a ChiveError with a stable
 * `code`, or anything else thrown) becomes an error notice; nothing here throws.
 *
 * The only module besides App.tsx that touches ChatApi, and only through its public
 * interface. Not parsing (commands.ts), not target resolution (targets.ts).
 */
import type { ChatApi } from '../chat/api.js';
import type { ParsedInput } from './commands.js';
import { COMMANDS, findCommand } from './commands.js';
import { sanitizeText } from './format.js';
import type { Resolved } from './targets.js';
import { resolveContactOrCurrent, resolveMessageTarget, resolveRequest, resolveRetry } from './targets.js';
import type { Notice, UiAction, UiState } from './ui-state.js';

export interface CommandOutcome {
  readonly actions: readonly UiAction[];
  /** The user asked to leave. */
  readonly quit?: boolean;
  /** Work that finishes later (/newcircuit): its actions are dispatched when it does; it never rejects. */
  readonly later?: Promise<readonly UiAction[]>;
}

/** A thrown value as a notice: `CODE: message` for coded errors (ChiveError), else the message. */
export function errorNotice(err: unknown): Notice {
  const e = err as { code?: unknown; message?: unknown } | null | undefined;
  const text = sanitizeText(typeof e?.message === 'string' ? e.message : String(err), true);
  return typeof e?.code === 'string' ? { level: 'error', code: e.code, text } : { level: 'error', text };
}

const notice = (level: Notice['level'], text: string): UiAction => ({ type: 'notice', notice: { level, text } });

function refused(r: Resolved<string> & { ok: false }): CommandOutcome {
  return { actions: [{ type: 'notice', notice: { level: 'error', text: r.message } }] };
}

/** Runs `f`, turning a throw into an error notice. */
function guarded(f: () => readonly UiAction[]): CommandOutcome {
  try {
    return { actions: f() };
  } catch (err) {
    return { actions: [{ type: 'notice', notice: errorNotice(err) }] };
  }
}

export function runCommand(chat: ChatApi, state: UiState, input: ParsedInput, now: number): CommandOutcome {
  switch (input.kind) {
    case 'empty':
      return { actions: [] };
    case 'invalid':
      return { actions: [notice('error', input.message)] };
    case 'quit':
      return { actions: [], quit: true };
    case 'help': {
      if (input.topic === undefined) return { actions: [{ type: 'overlay', overlay: { kind: 'help' } }] };
      const spec = findCommand(input.topic);
      if (spec === undefined) {
        return { actions: [notice('error', `no command /${input.topic.replace(/^\//, '')}; known: ${COMMANDS.map((c) => c.name).join(' ')}`)] };
      }
      return { actions: [notice('info', `${spec.usage}: ${spec.summary}`)] };
    }
    case 'address':
      return { actions: [{ type: 'overlay', overlay: { kind: 'address' } }] };
    case 'circuit':
      return guarded(() => [{ type: 'circuits-loaded', circuits: chat.circuits(), show: true }]);
    case 'newcircuit': {
      const later = (async (): Promise<readonly UiAction[]> => {
        try {
          await chat.newCircuits();
          return [
            { type: 'circuits-loaded', circuits: chat.circuits(), show: false },
            notice('info', 'new circuits are up; /circuit shows them'),
          ];
        } catch (err) {
          return [{ type: 'notice', notice: errorNotice(err) }];
        }
      })();
      return { actions: [notice('info', 'building new circuits… (unsent messages are kept and resent)')], later };
    }
    case 'add':
      return guarded(() => {
        const contact = chat.addContact(input.address, input.name);
        return [
          { type: 'contact-changed', contact, select: true },
          notice('info', `added ${contact.name}: what you write is queued until they are reachable`),
        ];
      });
    case 'accept':
    case 'reject': {
      const target = resolveRequest(state, input.target);
      if (!target.ok) return refused(target);
      return guarded(() => {
        const contact = input.kind === 'accept' ? chat.accept(target.value) : chat.reject(target.value);
        return [
          { type: 'contact-changed', contact, select: input.kind === 'accept' },
          notice('info', input.kind === 'accept' ? `accepted ${contact.name}: say hello` : `rejected ${contact.name}`),
        ];
      });
    }
    case 'block': {
      const target = resolveContactOrCurrent(state, input.target);
      if (!target.ok) return refused(target);
      return guarded(() => {
        const contact = chat.block(target.value);
        return [{ type: 'contact-changed', contact, select: false }, notice('info', `blocked ${contact.name}`)];
      });
    }
    case 'nick': {
      const target = resolveContactOrCurrent(state, undefined);
      if (!target.ok) return refused(target);
      return guarded(() => {
        const contact = chat.rename(target.value, input.name);
        return [{ type: 'contact-changed', contact, select: false }, notice('info', `now called ${contact.name}`)];
      });
    }
    case 'retry': {
      const target = resolveRetry(state, input.id);
      if (!target.ok) return refused(target);
      return guarded(() => {
        chat.retry(target.value);
        return [{ type: 'message-retried', id: target.value }];
      });
    }
    case 'message': {
      const target = resolveMessageTarget(state);
      if (!target.ok) return refused(target);
      return guarded(() => {
        const { id, seq } = chat.send(target.value, input.text);
        return [{ type: 'message-queued', to: target.value, id, seq, text: input.text, at: now }];
      });
    }
  }
}

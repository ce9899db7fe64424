/**
 * Headless chat: the chat client as JSON lines, for scripts, bots and end-to-end tests.
 * One command object per line on stdin, one event object per line on stdout, and nothing
 * else on stdout (logs go to stderr or a file). docs/CLI.md lists every command and event
 * with an example session.
 *
 *   stdin : {"cmd":"address"} {"cmd":"add","address":A,"name":N} {"cmd":"accept","address":A}
 *           {"cmd":"reject","address":A} {"cmd":"block","address":A} {"cmd":"rename","address":A,"name":N}
 *           {"cmd":"send","to":A,"text":T} {"cmd":"retry","id":I} {"cmd":"contacts"}
 *           {"cmd":"history","with":A[,"limit":n]} {"cmd":"read","with":A} {"cmd":"rtt","with":A}
 *           {"cmd":"circuits"} {"cmd":"status"} {"cmd":"quit"}
 *   stdout: ready, address, request, message, queued, sent, delivered, failed, contact,
 *           contacts, history, rtt, circuits, status, error (each {"event":…, …})
 * A bad line answers {"event":"error","code":…,"message":…} and the session goes on.
 *
 * Not the chat logic (chat-client.ts) and not the flags (command.ts).
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { ChiveError, isChiveError } from '../../src/errors.js';
import type { ChatApi } from './api.js';
import type { ChatClient } from './chat-client.js';

const MAX_LINE = 64 * 1024;

type Out = (event: Record<string, unknown>) => void;

/** Wires `chat` to JSON lines; resolves when stdin ends or {"cmd":"quit"} arrives. */
export async function runHeadless(chat: ChatClient, input: Readable, write: (line: string) => void): Promise<void> {
  const out: Out = (event) => write(JSON.stringify(event));
  forwardEvents(chat, out);
  const lines = createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    const quit = await handleLine(chat, line, out);
    if (quit) break;
  }
  lines.close();
}

function forwardEvents(chat: ChatApi, out: Out): void {
  chat.on('ready', (p) => out({ event: 'ready', bootstrapMs: Math.round(p.bootstrapMs), address: chat.address }));
  chat.on('request', (p) => out({ event: 'request', from: p.from }));
  chat.on('message', (p) => out({ event: 'message', from: p.from, id: p.id, seq: p.seq, text: p.text, sentAt: p.sentAt }));
  chat.on('sent', (p) => out({ event: 'sent', id: p.id, to: p.to }));
  chat.on('delivered', (p) => out({ event: 'delivered', id: p.id, to: p.to }));
  chat.on('failed', (p) => out({ event: 'failed', id: p.id, to: p.to, code: p.code, message: p.message }));
  chat.on('contact', (p) => out({ event: 'contact', ...p }));
  chat.on('error', (p) => out({ event: 'error', code: p.code, message: p.message }));
}

/** Handles one stdin line; true for quit. */
export async function handleLine(chat: ChatClient, line: string, out: Out): Promise<boolean> {
  try {
    if (line.length > MAX_LINE) throw new ChiveError('INVALID_ARGUMENT', `a command line is at most ${MAX_LINE} bytes`);
    let cmd: Record<string, unknown>;
    try {
      cmd = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new ChiveError('INVALID_ARGUMENT', 'not a JSON object');
    }
    if (cmd === null || typeof cmd !== 'object' || Array.isArray(cmd)) throw new ChiveError('INVALID_ARGUMENT', 'not a JSON object');
    const str = (key: string): string => {
      const v = cmd[key];
      if (typeof v !== 'string') throw new ChiveError('INVALID_ARGUMENT', `"${String(cmd.cmd)}" needs a string "${key}"`);
      return v;
    };
    switch (cmd.cmd) {
      case 'address':
        out({ event: 'address', address: chat.address });
        return false;
      // These answer through the `contact` event the change itself emits.
      case 'add':
        chat.addContact(str('address'), typeof cmd.name === 'string' ? cmd.name : undefined);
        return false;
      case 'accept':
        chat.accept(str('address'));
        return false;
      case 'reject':
        chat.reject(str('address'));
        return false;
      case 'block':
        chat.block(str('address'));
        return false;
      case 'rename':
        chat.rename(str('address'), str('name'));
        return false;
      case 'send': {
        const to = str('to');
        const { id, seq } = chat.send(to, str('text'));
        out({ event: 'queued', id, seq, to });
        return false;
      }
      case 'retry':
        chat.retry(str('id'));
        return false;
      case 'contacts':
        out({ event: 'contacts', contacts: chat.contacts() });
        return false;
      case 'history': {
        const limit = typeof cmd.limit === 'number' ? cmd.limit : undefined;
        out({ event: 'history', with: str('with'), entries: chat.history(str('with'), limit) });
        return false;
      }
      case 'read':
        chat.markRead(str('with'));
        return false;
      case 'rtt':
        out({ event: 'rtt', with: str('with'), ms: await chat.measureRtt(str('with')) });
        return false;
      case 'circuits':
        out({ event: 'circuits', circuits: chat.circuits() });
        return false;
      case 'status':
        out({ event: 'status', ...chat.status() });
        return false;
      case 'quit':
        return true;
      default:
        throw new ChiveError('INVALID_ARGUMENT', `unknown command ${JSON.stringify(cmd.cmd)} (see docs/CLI.md, chive chat --headless)`);
    }
  } catch (e) {
    out({ event: 'error', code: isChiveError(e) ? e.code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) });
    return false;
  }
}

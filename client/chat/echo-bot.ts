/**
 * An echo bot on the chat API: accepts every contact request and answers every message
 * with "echo: <text>". The demo contact of `npm start`, and a handy peer for trying a
 * network. It uses only the public ChatApi, like any front end.
 *
 * Not a chat client of its own (it drives one) and not meant for a real network's strangers.
 */
import type { ChatApi } from './api.js';

export const ECHO_PREFIX = 'echo: ';

/** Makes `chat` an echo bot; returns a function that stops it. */
export function runEchoBot(chat: ChatApi, onError: (e: unknown) => void = () => undefined): () => void {
  const offs = [
    chat.on('request', (r) => {
      try {
        chat.accept(r.from);
      } catch (e) {
        onError(e);
      }
    }),
    chat.on('message', (m) => {
      try {
        chat.send(m.from, `${ECHO_PREFIX}${m.text}`.slice(0, 4000));
        chat.markRead(m.from);
      } catch (e) {
        onError(e);
      }
    }),
  ];
  return () => offs.forEach((off) => off());
}

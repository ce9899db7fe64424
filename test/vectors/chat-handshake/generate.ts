/**
 * Generates test/vectors/chat-handshake/chat-handshake.json from fixed, labelled inputs,
 * with the literal reference in reference.ts (which imports nothing from src/).
 *
 *     npx tsx test/vectors/chat-handshake/generate.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  cat, enc, hex, refE2e, refEstablishIntro, refSealIntroduction, u32be,
} from './reference.js';

const here = (name: string) => fileURLToPath(new URL(name, import.meta.url));
const label = (s: string) => sha256(enc(`chive chat vector: ${s}`));
const first = (b: Uint8Array, n: number) => b.slice(0, n);

const establishIntro = [1, 2].map((n) => {
  const authSeed = label(`${n} auth seed`);
  const introRelayIdentity = ed25519.getPublicKey(label(`${n} intro relay identity seed`));
  const out = refEstablishIntro(authSeed, introRelayIdentity);
  return {
    authSeed: hex(authSeed), introRelayIdentity: hex(introRelayIdentity),
    authKey: hex(out.authKey), signed: hex(out.signed), signature: hex(out.signature), body: hex(out.body),
  };
});

const introduce = [
  { n: 1, timestamp: 1_700_000_000_000 },
  { n: 2, timestamp: 0 },
  { n: 3, timestamp: 2 ** 53 - 1 },
].map(({ n, timestamp }) => {
  const input = {
    introEncSecret: label(`${n} intro enc secret`),
    authSeed: label(`${n} auth seed`),
    receiverIdentitySeed: label(`${n} receiver identity seed`),
    senderIdentitySeed: label(`${n} sender identity seed`),
    cookie: first(label(`${n} cookie`), 20),
    rendezvousIdentity: ed25519.getPublicKey(label(`${n} rendezvous identity seed`)),
    clientPublic: label(`${n} client public (any 32 bytes)`),
    timestamp,
    ephemeralSecret: label(`${n} ephemeral secret`),
  };
  const out = refSealIntroduction(input);
  return {
    introEncSecret: hex(input.introEncSecret), introEncKey: hex(out.introEncKey),
    authSeed: hex(input.authSeed), authKey: hex(out.authKey),
    receiverIdentitySeed: hex(input.receiverIdentitySeed), receiverIdentityPub: hex(out.receiverIdentityPub),
    senderIdentitySeed: hex(input.senderIdentitySeed), senderIdentityPub: hex(out.senderIdentityPub),
    cookie: hex(input.cookie), rendezvousIdentity: hex(input.rendezvousIdentity), clientPublic: hex(input.clientPublic),
    timestamp,
    ephemeralSecret: hex(input.ephemeralSecret), ephemeralPublic: hex(out.ephemeralPublic),
    shared: hex(out.shared), ikm: hex(out.ikm), key: hex(out.key),
    signed: hex(out.signed), signature: hex(out.signature), plaintext: hex(out.plaintext), body: hex(out.body),
  };
});

const e2e = [
  { n: 1, description: 'keys are SHA-256 of labels' },
  { n: 2, description: 'secrets that clamping changes (all 0xff, all 0x01, alternating 0x80 / 0x7f)' },
].map(({ n, description }) => {
  const senderIdentitySeed = label(`${n} sender identity seed`);
  const receiverIdentitySeed = label(`${n} receiver identity seed`);
  const secrets = n === 2
    ? {
      introEncSecret: new Uint8Array(32).fill(0xff), clientSecret: new Uint8Array(32).fill(0x01),
      serverSecret: new Uint8Array(32).map((_, i) => (i % 2 === 0 ? 0x80 : 0x7f)),
    }
    : { introEncSecret: label(`${n} intro enc secret`), clientSecret: label(`${n} x`), serverSecret: label(`${n} y`) };
  const input = {
    senderIdentityPub: ed25519.getPublicKey(senderIdentitySeed),
    receiverIdentityPub: ed25519.getPublicKey(receiverIdentitySeed),
    ...secrets,
  };
  const out = refE2e(input);
  const keys = (k: { kf: Uint8Array; ko: Uint8Array; kr: Uint8Array }) => ({ kf: hex(k.kf), ko: hex(k.ko), kr: hex(k.kr) });
  return {
    description,
    senderIdentityPub: hex(input.senderIdentityPub), receiverIdentityPub: hex(input.receiverIdentityPub),
    introEncSecret: hex(input.introEncSecret), introEncPub: hex(out.introEncPub),
    clientSecret: hex(input.clientSecret), clientPublic: hex(out.clientPublic),
    serverSecret: hex(input.serverSecret), serverPublic: hex(out.serverPublic),
    secretInput: hex(out.secretInput), keySeed: hex(out.keySeed), verify: hex(out.verify),
    authInput: hex(out.authInput), auth: hex(out.auth), reply: hex(out.reply), keyMaterial: hex(out.keyMaterial),
    senderToReceiver: keys(out.senderToReceiver), receiverToSender: keys(out.receiverToSender),
  };
});

// The fixed-layout bodies, spelled out byte by byte.
const cookie = first(label('message cookie'), 20);
const reply = cat(label('message Y'), label('message auth'));
const blindedKey = label('message blinded key');
const descriptor = first(cat(label('descriptor a'), label('descriptor b')), 50);
const messages = {
  cookie: hex(cookie), reply: hex(reply), blindedKey: hex(blindedKey), period: 19_999, descriptor: hex(descriptor),
  establishRendezvous: hex(cookie),
  rendezvous1: hex(cat(cookie, reply)),
  rendezvous2: hex(reply),
  introduceAck: { ok: '00', noSuchIntro: '01', malformed: '02' },
  hsdirStored: { stored: '00', rejected: '01', staleRevision: '02', overQuota: '03' },
  hsdirFetch: hex(cat(blindedKey, u32be(19_999))),
  hsdirFoundFound: hex(cat(Uint8Array.of(0), descriptor)),
  hsdirFoundNotFound: '01',
};

const file = {
  source: 'test/vectors/chat-handshake/generate.ts with the literal reference reference.ts (@noble/*, nothing from src/). See README.md.',
  establishIntro, introduce, e2e, messages,
};
writeFileSync(here('chat-handshake.json'), JSON.stringify(file, null, 2) + '\n');
process.stdout.write(`wrote ${here('chat-handshake.json')}\n`);

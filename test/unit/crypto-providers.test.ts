/**
 * The two crypto providers agree byte for byte, on fixed (RFC) and random inputs, and both
 * fail with the same typed errors. If sodium-native cannot load here the cross-check is
 * reported as skipped rather than silently passing.
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { allCryptoProviders, loadCryptoProvider } from '../../src/crypto/load.js';
import type { CryptoProvider } from '../../src/crypto/provider.js';
import { fromHex, toHex, utf8 } from '../../src/bytes.js';
import { ChiveError } from '../../src/errors.js';

const providers = allCryptoProviders();
const sodium = providers.find((p) => p.name === 'sodium');
const noble = providers.find((p) => p.name === 'noble')!;

const rand = (n: number) => new Uint8Array(randomBytes(n));

describe.each(providers.map((p) => [p.name, p] as const))('%s provider: published vectors', (_name, p: CryptoProvider) => {
  it('X25519 matches RFC 7748 §6.1', () => {
    const aSk = fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const aPk = fromHex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    const bSk = fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const bPk = fromHex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(p.x25519PublicKey(aSk))).toBe(toHex(aPk));
    expect(toHex(p.x25519PublicKey(bSk))).toBe(toHex(bPk));
    expect(toHex(p.x25519(aSk, bPk))).toBe(shared);
    expect(toHex(p.x25519(bSk, aPk))).toBe(shared);
  });

  it('X25519 refuses low-order points with LOW_ORDER_POINT', () => {
    const lowOrder = [
      '0000000000000000000000000000000000000000000000000000000000000000',
      '0100000000000000000000000000000000000000000000000000000000000000',
      'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800',
      '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157',
      'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
    ];
    for (const pk of lowOrder) {
      expect(() => p.x25519(rand(32), fromHex(pk))).toThrowError(expect.objectContaining({ code: 'LOW_ORDER_POINT' }));
    }
  });

  it('Ed25519 matches RFC 8032 §7.1 test 2', () => {
    const seed = fromHex('4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb');
    const pk = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';
    const sig = '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';
    expect(toHex(p.ed25519PublicKey(seed))).toBe(pk);
    expect(toHex(p.ed25519Sign(seed, fromHex('72')))).toBe(sig);
    expect(p.ed25519Verify(fromHex(pk), fromHex('72'), fromHex(sig))).toBe(true);
    expect(p.ed25519Verify(fromHex(pk), fromHex('73'), fromHex(sig))).toBe(false);
    expect(p.ed25519Verify(fromHex(pk), fromHex('72'), new Uint8Array(63))).toBe(false);
    expect(p.ed25519Verify(new Uint8Array(32).fill(0xff), fromHex('72'), fromHex(sig))).toBe(false);
  });

  it('ChaCha20-Poly1305 matches RFC 8439 §2.8.2', () => {
    const key = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f');
    const nonce = fromHex('070000004041424344454647');
    const ad = fromHex('50515253c0c1c2c3c4c5c6c7');
    const pt = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const ct = new Uint8Array(pt.length);
    const tag = new Uint8Array(16);
    p.aeadSealDetached(key, nonce, ad, pt, ct, tag);
    expect(toHex(tag)).toBe('1ae10b594f09e26a7e902ecbd0600691');
    expect(toHex(ct).slice(0, 32)).toBe('d31a8d34648e60db7b86afbc53ef7ec2');
    const back = new Uint8Array(ct.length);
    expect(p.aeadOpenDetached(key, nonce, ad, ct, tag, back)).toBe(true);
    expect(back).toEqual(pt);
    tag[0]! ^= 1;
    expect(p.aeadOpenDetached(key, nonce, ad, ct, tag, back)).toBe(false);
  });

  it('ChaCha20 with a block counter matches RFC 8439 §2.4.2', () => {
    const key = fromHex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f');
    const nonce = fromHex('000000000000004a00000000');
    const pt = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const out = new Uint8Array(pt.length);
    p.chacha20Xor(key, nonce, 1, pt, out);
    expect(toHex(out).slice(0, 32)).toBe('6e2e359a2568f98041ba0728dd0d6981');
    // in place
    const inPlace = pt.slice();
    p.chacha20Xor(key, nonce, 1, inPlace, inPlace);
    expect(inPlace).toEqual(out);
  });

  it('Poly1305 matches RFC 8439 §2.5.2', () => {
    const key = fromHex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b');
    const tag = new Uint8Array(16);
    p.poly1305(key, utf8('Cryptographic Forum Research Group'), tag);
    expect(toHex(tag)).toBe('a8061dc1305136c6c22b8baf0c0127a9');
  });

  it('SHA-256, SHA-512, HMAC-SHA256 and HKDF match their published vectors', () => {
    expect(toHex(p.sha256(utf8('abc')))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(p.sha512(utf8('abc'))).slice(0, 32)).toBe('ddaf35a193617abacc417349ae204131');
    // RFC 4231 test case 2
    expect(toHex(p.hmacSha256(utf8('Jefe'), utf8('what do ya want for nothing?')))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    // RFC 5869 test case 1
    const ikm = fromHex('0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b');
    const salt = fromHex('000102030405060708090a0b0c');
    const info = fromHex('f0f1f2f3f4f5f6f7f8f9');
    const okm = '3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865';
    expect(toHex(p.hkdfSha256(ikm, salt, info, 42))).toBe(okm);
    const prk = fromHex('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
    expect(toHex(p.hkdfExpandSha256(prk, info, 42))).toBe(okm);
  });

  it('constant-time equality and argument checks', () => {
    const a = rand(32);
    expect(p.equal(a, a.slice())).toBe(true);
    const b = a.slice();
    b[31]! ^= 0x80;
    expect(p.equal(a, b)).toBe(false);
    expect(p.equal(a, a.subarray(0, 31))).toBe(false);
    expect(p.equal(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(() => p.x25519(rand(31), rand(32))).toThrow(ChiveError);
    expect(() => p.chacha20Xor(rand(32), rand(12), -1, rand(4), new Uint8Array(4))).toThrow(ChiveError);
    expect(() => p.chacha20Xor(rand(32), rand(12), 0, rand(4), new Uint8Array(5))).toThrow(ChiveError);
    expect(p.randomBytes(48).length).toBe(48);
  });
});

describe('sodium and noble agree byte for byte', () => {
  it.skipIf(!sodium)('on random inputs for every operation', () => {
    const s = sodium!;
    for (let round = 0; round < 50; round++) {
      const sk = rand(32);
      const pk = rand(32);
      pk[31]! &= 0x7f;
      expect(s.x25519PublicKey(sk)).toEqual(noble.x25519PublicKey(sk));
      let sErr: string | undefined;
      let nErr: string | undefined;
      let sOut: Uint8Array | undefined;
      let nOut: Uint8Array | undefined;
      try { sOut = s.x25519(sk, pk); } catch (e) { sErr = (e as ChiveError).code; }
      try { nOut = noble.x25519(sk, pk); } catch (e) { nErr = (e as ChiveError).code; }
      expect(sErr).toBe(nErr);
      expect(sOut).toEqual(nOut);

      const seed = rand(32);
      const msg = rand(round * 7);
      expect(s.ed25519PublicKey(seed)).toEqual(noble.ed25519PublicKey(seed));
      const sig = s.ed25519Sign(seed, msg);
      expect(sig).toEqual(noble.ed25519Sign(seed, msg));
      const edPk = s.ed25519PublicKey(seed);
      expect(noble.ed25519Verify(edPk, msg, sig)).toBe(true);
      const badSig = sig.slice();
      badSig[round % 64]! ^= 1 << (round % 8);
      expect(s.ed25519Verify(edPk, msg, badSig)).toBe(noble.ed25519Verify(edPk, msg, badSig));

      const key = rand(32);
      const nonce = rand(12);
      const data = rand(1 + round * 23);
      const counter = round * 1000;
      const a = new Uint8Array(data.length);
      const b = new Uint8Array(data.length);
      s.chacha20Xor(key, nonce, counter, data, a);
      noble.chacha20Xor(key, nonce, counter, data, b);
      expect(a).toEqual(b);

      const ad = round % 2 === 0 ? null : rand(round);
      const ctS = new Uint8Array(data.length);
      const ctN = new Uint8Array(data.length);
      const tagS = new Uint8Array(16);
      const tagN = new Uint8Array(16);
      s.aeadSealDetached(key, nonce, ad, data, ctS, tagS);
      noble.aeadSealDetached(key, nonce, ad, data, ctN, tagN);
      expect(ctS).toEqual(ctN);
      expect(tagS).toEqual(tagN);
      const ptN = new Uint8Array(data.length);
      expect(noble.aeadOpenDetached(key, nonce, ad, ctS, tagS, ptN)).toBe(true);
      expect(ptN).toEqual(data);
      // in place
      const inPlace = ctS.slice();
      expect(s.aeadOpenDetached(key, nonce, ad, inPlace, tagS, inPlace)).toBe(true);
      expect(inPlace).toEqual(data);

      const polyKey = rand(32);
      const tS = new Uint8Array(16);
      const tN = new Uint8Array(16);
      s.poly1305(polyKey, data, tS);
      noble.poly1305(polyKey, data, tN);
      expect(tS).toEqual(tN);
      expect(s.sha256(data)).toEqual(noble.sha256(data));
      expect(s.sha512(data)).toEqual(noble.sha512(data));
      expect(s.hmacSha256(key, data)).toEqual(noble.hmacSha256(key, data));
      const len = 1 + (round * 13) % 200;
      expect(s.hkdfSha256(data, nonce, key, len)).toEqual(noble.hkdfSha256(data, nonce, key, len));
      expect(s.hkdfExpandSha256(key, data, len)).toEqual(noble.hkdfExpandSha256(key, data, len));
      expect(s.equal(data, data.slice())).toBe(noble.equal(data, data.slice()));
    }
  });
});

describe('loadCryptoProvider', () => {
  it('defaults to sodium where it loads, and gives noble on request', () => {
    const notices: string[] = [];
    const p = loadCryptoProvider('auto', (l) => notices.push(l));
    expect(p.name).toBe(sodium ? 'sodium' : 'noble');
    expect(notices.length).toBe(sodium ? 0 : 1);
    expect(loadCryptoProvider('noble').name).toBe('noble');
  });
});

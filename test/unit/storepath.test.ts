import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isStorePath,
  MAX_NAME_LENGTH,
  parseStorePath,
  STORE_DIR,
  StorePathError,
  storePathName,
  toStorePath,
} from '../../src/core/storepath.ts';
import { storePathArb } from '../support/store-arbitraries.ts';

const HASH = '0c8cqv3m2mbghq2k8nnynvq4hc9h2b3n';
const valid = `/nix/store/${HASH}-hello-2.12.1`;

describe('parseStorePath', () => {
  it('splits a store path into hash and name', () => {
    expect(parseStorePath(valid)).toEqual({ ok: true, path: valid, hash: HASH, name: 'hello-2.12.1' });
    expect(STORE_DIR).toBe('/nix/store');
  });

  it.each([
    `/nix/store/${HASH}-nixos-system-baard-entrance-25.11pre-git`,
    `/nix/store/${HASH}-python3.12-pyyaml_6.0?x=1+2`,
    `/nix/store/${HASH}-a`,
    `/nix/store/${HASH}-${'n'.repeat(MAX_NAME_LENGTH)}`,
  ])('accepts %s', (path) => {
    expect(isStorePath(path)).toBe(true);
  });

  it.each<[string, unknown, RegExp]>([
    ['a number', 42, /must be a string, not number/],
    ['another directory', `/gnu/store/${HASH}-hello`, /is not in \/nix\/store/],
    ['a relative path', `nix/store/${HASH}-hello`, /is not in \/nix\/store/],
    ['a path inside a store path', `${valid}/bin/hello`, /a path inside a store path.*"\/bin\/hello"/],
    ['a trailing slash', `${valid}/`, /a path inside a store path/],
    ['a short hash', `/nix/store/${HASH.slice(1)}-hello`, /32-character Nix base32 hash/],
    ['the letter e in the hash', `/nix/store/e${HASH.slice(1)}-hello`, /32-character Nix base32 hash/],
    ['the letter o in the hash', `/nix/store/o${HASH.slice(1)}-hello`, /32-character Nix base32 hash/],
    ['the letter t in the hash', `/nix/store/t${HASH.slice(1)}-hello`, /32-character Nix base32 hash/],
    ['the letter u in the hash', `/nix/store/u${HASH.slice(1)}-hello`, /32-character Nix base32 hash/],
    ['an upper-case hash', `/nix/store/${HASH.toUpperCase()}-hello`, /32-character Nix base32 hash/],
    ['no dash after the hash', `/nix/store/${HASH}_hello`, /lacks the '-'/],
    ['an empty name', `/nix/store/${HASH}-`, /empty name/],
    ['a name starting with a dot', `/nix/store/${HASH}-.hidden`, /starting with '.'/],
    ['a name of 212 characters', `/nix/store/${HASH}-${'n'.repeat(212)}`, /212 characters \(at most 211\)/],
    ['a space', `/nix/store/${HASH}-hello world`, /" " in its name/],
    ['a shell metacharacter', `/nix/store/${HASH}-x;rm`, /";" in its name/],
    ['a newline', `/nix/store/${HASH}-x\nrm`, /"\\n" in its name/],
    ['a non-ASCII letter', `/nix/store/${HASH}-héllo`, /"é" in its name/],
  ])('rejects %s', (_, input, why) => {
    const parsed = parseStorePath(input);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toMatch(why);
  });

  it('quotes a long bad input only in part', () => {
    const parsed = parseStorePath(`/tmp/${'x'.repeat(10_000)}`);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error.length).toBeLessThan(200);
  });

  it('accepts every well-formed path and refuses it once a forbidden character is put in its name', () => {
    const forbidden = fc.constantFrom(
      ' ',
      '/',
      '\\',
      ';',
      '$',
      '`',
      "'",
      '"',
      '\n',
      '\0',
      '*',
      '!',
      '~',
      'ü',
    );
    fc.assert(
      fc.property(storePathArb, forbidden, fc.nat(), (path, bad, at) => {
        expect(isStorePath(path)).toBe(true);
        const nameStart = STORE_DIR.length + 1 + 33;
        const pos = nameStart + (at % (path.length - nameStart));
        expect(isStorePath(path.slice(0, pos) + bad + path.slice(pos + 1))).toBe(false);
      }),
    );
  });
});

describe('toStorePath and storePathName', () => {
  it('return the path and its name when valid', () => {
    expect(toStorePath(valid)).toBe(valid);
    expect(storePathName(valid)).toBe('hello-2.12.1');
  });

  it('throw StorePathError saying what is wrong', () => {
    expect(() => toStorePath('/nix/store/nope')).toThrow(StorePathError);
    expect(() => toStorePath('/nix/store/nope')).toThrow(/32-character Nix base32 hash/);
    expect(() => storePathName(`/nix/store/${HASH}-`)).toThrow(/empty name/);
  });
});

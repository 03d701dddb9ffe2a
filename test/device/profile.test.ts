import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICES_DIR, ProfileError, listProfiles, loadProfile, parseProfileText, validateProfile } from '../../src/device/profile.js';

const base = () => JSON.parse(readFileSync(join(DEVICES_DIR, 'pcm-nandakumar-2019.json'), 'utf8')) as Record<string, any>;

/** Validate a mutated copy; return the ProfileError it must raise. */
function rejects(mutate: (p: Record<string, any>) => void): ProfileError {
  const p = base();
  mutate(p);
  try {
    validateProfile(p, 'my-device.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    return e as ProfileError;
  }
  throw new Error('profile was accepted');
}

describe('built-in profiles', () => {
  it('all validate and are listed', () => {
    const names = listProfiles().map((p) => p.name);
    expect(names).toEqual(['ideal', 'pcm-hermes-2023', 'pcm-nandakumar-2019', 'rram-wan-2022']);
    for (const n of names) expect(loadProfile(n).name).toBe(n);
  });

  it('loads a profile by path', () => {
    expect(loadProfile(join(DEVICES_DIR, 'ideal.json')).name).toBe('ideal');
  });

  it('unknown names list the built-ins; unreadable files are named', () => {
    expect(() => loadProfile('pcm-nope')).toThrow(/unknown device 'pcm-nope' \(built-in: ideal, pcm-hermes-2023, pcm-nandakumar-2019, rram-wan-2022/);
    expect(() => loadProfile('/nonexistent/dev.json')).toThrow(/\/nonexistent\/dev.json: cannot read device profile \(ENOENT\)/);
  });
});

// Each case breaks one thing; the message must name the file, the JSON path and what was expected.
const CASES: [string, (p: Record<string, any>) => void, string, RegExp][] = [
  ['gMax of the wrong type', (p) => (p.conductance.gMax = '25'), '/conductance/gMax', /expected number, got "25"/],
  ['missing section', (p) => delete p.tile, '/', /missing required property 'tile'/],
  ['misspelled property', (p) => (p.conductance.gmax = 25), '/conductance/gmax', /unknown property 'gmax' \(did you mean 'gMax'\?\)/],
  ['negative gMax', (p) => (p.conductance.gMax = -1), '/conductance/gMax', /expected a number > 0, got -1/],
  ['gMin above gMax', (p) => (p.conductance.gMin = 30), '/conductance/gMax', /expected gMax > gMin \(30\), got 25/],
  ['a single level', (p) => (p.conductance.levels = 1), '/conductance/levels', /expected a number >= 2, got 1/],
  ['zero DAC bits', (p) => (p.periphery.dac.bits = 0), '/periphery/dac/bits', /expected a number >= 1, got 0/],
  ['unknown enum', (p) => (p.mapping.scheme = 'diff'), '/mapping/scheme', /expected one of 'differential', 'single', got "diff"/],
  ['expression syntax error', (p) => (p.programming.std = '0.2 + * r'), '/programming/std', /syntax error/],
  ['forbidden construct', (p) => (p.drift.nuMean = 'evaluate("1")'), '/drift/nuMean', /function 'evaluate' is not allowed/],
  ['wrong variable for read noise', (p) => (p.readNoise.q = '0.01 * r'), '/readNoise/q', /at char 7: unknown name 'r' \(allowed: gProg, rProg, gMax, gMin\)/],
  ['non-increasing relaxation', (p) => (p.relaxation = { points: [{ t: 10, std: 1 }, { t: 5, std: 1 }], beyondLast: 'hold' }), '/relaxation/points/1/t', /strictly increasing, got 5 after 10/],
  ['fault rates above 1', (p) => (p.faults = { stuckAtGMin: 0.6, stuckAtGMax: 0.5 }), '/faults', /stuckAtGMin \+ stuckAtGMax <= 1, got 1.1/],
  ['empty sources', (p) => (p.sources = []), '/sources', /expected at least 1 item\(s\), got 0/],
  ['zero tile rows', (p) => (p.tile.rows = 0), '/tile/rows', /expected a number >= 1, got 0/],
  ['fractional tile cols', (p) => (p.tile.cols = 12.5), '/tile/cols', /expected integer, got 12.5/],
  ['bad name', (p) => (p.name = 'My Device'), '/name', /expected a string matching/],
  ['drift section of the wrong type', (p) => (p.drift = 3), '/drift', /expected object or null, got 3/],
  ['missing field inside a nullable section', (p) => delete p.drift.t0, '/drift', /missing required property 't0'/],
  ['fault rate above 1', (p) => (p.faults.stuckAtGMax = 2), '/faults/stuckAtGMax', /expected a number <= 1, got 2/],
];

describe('malformed profiles are rejected with precise messages', () => {
  for (const [what, mutate, path, message] of CASES) {
    it(what, () => {
      const e = rejects(mutate);
      const line = e.message.split('\n').find((l) => l.startsWith(`my-device.json: ${path}: `));
      expect(line, e.message).toBeDefined();
      expect(line).toMatch(message);
    });
  }

  it('reports several independent problems at once', () => {
    const e = rejects((p) => {
      p.conductance.gMax = -1;
      p.periphery.adc.bits = 'nine';
      p.tile.colz = 3;
    });
    expect(e.problems.map((x) => x.path).sort()).toEqual(['/conductance/gMax', '/periphery/adc/bits', '/tile/colz']);
  });

  it('reports semantic problems together', () => {
    const e = rejects((p) => {
      p.conductance.gMin = 40;
      p.drift.nuStd = 'foo + 1';
      p.readNoise.q = 'gProg.x';
    });
    expect(e.problems.map((x) => x.path)).toEqual(['/conductance/gMax', '/drift/nuStd', '/readNoise/q']);
  });

  it('invalid JSON text is reported with line and column', () => {
    expect(() => parseProfileText('{\n  "name": "x",\n  "tile": {rows: 2}\n}', 'broken.json')).toThrow(/^broken.json: \/: invalid JSON at line 3, column 12/);
  });
});

/**
 * Every reader of JSON users give or edit goes through the one strict reader: syntax errors
 * name file, line and column; duplicated keys are refused in aimc's own formats and allowed
 * (the last counts) in Hugging Face files, which Python's json module reads that way.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/tensor/backend.js';
import { parseSpec, SpecError } from '../../src/experiment/spec.js';
import { parseConfigArg } from '../../src/cli/adapter.js';
import { loadModel, modelsDir } from '../../src/model/load.js';
import { isHuggingFaceDir, loadHuggingFace, saveHuggingFace } from '../../src/model/hf.js';
import { Transformer } from '../../src/model/transformer.js';
import { defaultConfig } from '../../src/model/config.js';
import { readAdapterFile } from '../../src/peft/state.js';
import { loadPlugin } from '../../src/peft/registry.js';

beforeAll(async () => {
  await initBackend(); // the default engine, or AIMC_BACKEND
});

const tmp = () => mkdtempSync(join(tmpdir(), 'aimc-readers-'));
const SPEC = { name: 'x', model: 'm', task: 't', adapters: [{ plugin: 'head' }], devices: [{ device: 'ideal' }], times: ['1d'], trials: 1 };

function specError(text: string): SpecError {
  try {
    parseSpec(text, 's.json');
  } catch (e) {
    expect(e).toBeInstanceOf(SpecError);
    return e as SpecError;
  }
  throw new Error('accepted');
}

describe('experiment specs', () => {
  it('a syntax error names line and column', () => {
    expect(specError('{\n  "name": "x",\n  trials: 1\n}').message).toBe(
      "s.json: invalid experiment spec:\n  invalid JSON at line 3, column 3: expected a property name in double quotes, got 't'",
    );
  });

  it('a duplicated key is listed with the schema problems', () => {
    const text = JSON.stringify({ ...SPEC, trials: 2 }, null, 2).replace('"trials": 2', '"trials": 2,\n  "trials": 0');
    expect(specError(text).problems).toEqual([
      '/trials: expected integer >= 1, got 0',
      expect.stringMatching(/^\/trials: duplicate property 'trials' \(line \d+, column 3\); only the last one would count$/),
    ]);
  });

  it('schema problems name path, expectation and value; patterns in words', () => {
    expect(specError(JSON.stringify({ ...SPEC, name: 'a b', placement: 'z', trails: 1 })).problems).toEqual([
      "/trails: unknown property 'trails' (did you mean 'trials'?)",
      "/name: expected letters, digits, '.', '_' or '-', starting with a letter or digit (^[A-Za-z0-9][A-Za-z0-9._-]*$), got 'a b'",
      "/placement: expected one of 'default', 'digital', 'merged', got 'z'",
    ]);
  });

  it('a bad hwa entry: what each branch of the oneOf expected', () => {
    const e = specError(JSON.stringify({ ...SPEC, adapters: [{ plugin: 'head', hwa: [{ device: 'ideal', tme: '1h' }] }] }));
    expect(e.problems).toEqual(['/adapters/0/hwa/0: expected false, got an object', "/adapters/0/hwa/0/tme: unknown property 'tme' (did you mean 'time'?)"]);
  });
});

describe('adapter configs', () => {
  it('--config inline or as a file: syntax errors and duplicated keys refused, naming where', () => {
    expect(parseConfigArg('{"rank": 4}')).toEqual({ config: { rank: 4 }, source: '--config' });
    expect(() => parseConfigArg('{"rank": 4, "rank": 8}')).toThrow(/^--config: \/rank: duplicate property 'rank' \(line 1, column 13\); only the last one would count$/);
    const f = join(tmp(), 'cfg.json');
    writeFileSync(f, '{\n  "rank": 4,\n}');
    expect(() => parseConfigArg(f)).toThrow(new RegExp(`^${f}: invalid JSON at line 2, column 12: trailing comma before '}'$`));
  });

  it('adapter_config.json: syntax errors name the file, line and column', () => {
    const d = tmp();
    writeFileSync(join(d, 'adapter_config.json'), '{"format": "aimc-adapter" "plugin": "x"}');
    expect(() => readAdapterFile(d)).toThrow(/adapter_config\.json: invalid JSON at line 1, column 27: expected ',' or '}' after a property value, got '"'$/);
  });

  it('a plugin schema.json with a duplicated key is refused', async () => {
    const d = tmp();
    writeFileSync(join(d, 'schema.json'), '{"type": "object", "properties": {}, "properties": {"x": {}}}');
    writeFileSync(join(d, 'index.js'), 'export default { name: "p", description: "", create() {} };');
    await expect(loadPlugin(d)).rejects.toThrow(/schema\.json: \/properties: duplicate property 'properties'/);
  });
});

describe('model folders', () => {
  it('an aimc config.json: a duplicated key or a syntax error is refused, naming the file', () => {
    const d = tmp();
    cpSync(join(modelsDir(), 'aimc-enc-tiny'), d, { recursive: true });
    const text = readFileSync(join(d, 'config.json'), 'utf8');
    writeFileSync(join(d, 'config.json'), text.replace('{', '{\n  "numLayers": 1,'));
    expect(() => loadModel(d)).toThrow(/config\.json: \/numLayers: duplicate property 'numLayers' \(line \d+, column \d+\); only the last one would count/);
    writeFileSync(join(d, 'config.json'), text.replace('{', '{,'));
    expect(() => loadModel(d)).toThrow(/config\.json: invalid JSON at line 1, column 2: expected a property name in double quotes, got ','$/);
  });

  it('a Hugging Face config.json with a duplicated key loads, the last value counting (as in transformers)', async () => {
    const d = tmp();
    const m = new Transformer({ ...defaultConfig('decoder'), vocabSize: 20, hiddenSize: 8, numHeads: 2, intermediateSize: 16, numLayers: 1, maxPositions: 8, numLabels: 0 }, 'hf-dup');
    await saveHuggingFace(m, d);
    m.dispose();
    const cfg = readFileSync(join(d, 'config.json'), 'utf8');
    writeFileSync(join(d, 'config.json'), cfg.replace('{', '{\n  "n_layer": 7,\n  "model_type": "bert",'));
    expect(isHuggingFaceDir(d)).toBe(true);
    const back = loadHuggingFace(d);
    expect(back.config.numLayers).toBe(1);
    back.dispose();
    writeFileSync(join(d, 'config.json'), cfg.replace('{', "{ 'n_layer': 1,"));
    expect(isHuggingFaceDir(d)).toBe(false);
    expect(() => loadHuggingFace(d)).toThrow(/config\.json: invalid JSON at line 1, column 3: property names need double quotes/);
  });
});

// node --test: the widget's maths against the server calculator's shared cases
// (tests/fixtures/calculator_cases.json, written from app/lesson/calculators.py).
import './page-facts.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BYTES, MODELS, NF4_BITS, memory } from '../../static/js/memory-math.js';
import { loraCounts } from '../../static/js/linalg.js';

const cases = JSON.parse(readFileSync(new URL('../fixtures/calculator_cases.json', import.meta.url), 'utf8'));
const close = (a, b) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

test('presets and bytes per parameter are the same', () => {
  assert.deepEqual(Object.keys(MODELS).sort(), Object.keys(cases.presets).sort());
  for (const [key, p] of Object.entries(cases.presets)) {
    const m = MODELS[key];
    assert.deepEqual([m.params, m.d, m.layers, m.heads, m.kv], [p.params, p.d, p.layers, p.heads, p.kvDim], key);
  }
  for (const [precision, bytes] of Object.entries(cases.bytesPerParam)) assert.ok(close(BYTES[precision], bytes), precision);
  const nf4 = cases.nf4.find((c) => c.input.blockSize === 64 && c.input.doubleQuant);
  assert.ok(close(NF4_BITS, nf4.bitsPerParam));
});

test('LoRA parameter counts', () => {
  for (const c of cases.lora) {
    const r = loraCounts(c.input.dOut, c.input.dIn, c.input.rank);
    assert.equal(r.full, c.full);
    assert.equal(r.lora, c.lora);
  }
});

test('every memory case', () => {
  assert.ok(cases.memory.length > 0);
  for (const c of cases.memory) {
    const got = memory({ ...cases.defaults, ...c.input });
    for (const [key, value] of Object.entries(c.output)) assert.ok(close(got[key], value), `${JSON.stringify(c.input)} ${key}: ${got[key]} vs ${value}`);
  }
});

test('every refused input is refused', () => {
  for (const c of cases.errors) assert.throws(() => memory({ ...cases.defaults, ...c.input }), JSON.stringify(c.input));
});

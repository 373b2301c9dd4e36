// node --test: the pure parts of the spectrum, compare and LoRA-explorer widgets, on the shipped data.
import './page-facts.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { moduleKey, sameModules } from '../../static/js/spectrum.js';
import { budget } from '../../static/js/compare.js';
import { energyKept } from '../../static/js/lora3d.js';
import { parseJsonl } from '../../static/js/store.js';

const recorded = (name) => parseJsonl(readFileSync(new URL(`../../lessons/fine-tuning-llms/recorded/${name}.jsonl`, import.meta.url), 'utf8'));
const lastSpectrum = (events) => events.filter((e) => e.type === 'spectrum' && e.layers.length).at(-1);

test('LoRA is shown on exactly the modules full fine-tuning reports', () => {
  const full = lastSpectrum(recorded('full'));
  const lora = lastSpectrum(recorded('lora'));
  const keys = new Set(full.layers.map((l) => moduleKey(l.name)));
  const shown = sameModules(lora, keys);
  assert.ok(lora.layers.length > shown.layers.length);
  assert.deepEqual(new Set(shown.layers.map((l) => moduleKey(l.name))), keys);
  assert.equal(moduleKey('base_model.model.model.layers.3.self_attn.v_proj'), moduleKey('model.layers.3.self_attn.v_proj.weight'));
});

test('a recorded row shows its own steps, lr, batch and tokens', () => {
  const events = recorded('lora');
  const started = events.find((e) => e.type === 'started');
  const done = events.at(-1);
  const store = { started, terminal: done, steps: events.filter((e) => e.type === 'step'), evals: events.filter((e) => e.type === 'eval') };
  const b = budget(store);
  assert.equal(b.steps, started.config.steps);
  assert.equal(b.lr, started.config.lr);
  assert.equal(b.batch, started.config.batch_size);
  assert.equal(b.tokens, done.summary.tokens_seen);
  assert.equal(b.degenerate, store.evals.at(-1).degenerate);
});

test('energy kept at rank r from the shipped real ΔW', () => {
  const real = JSON.parse(readFileSync(new URL('../../static/data/full-delta.json', import.meta.url), 'utf8'));
  const s = real.singular_values;
  assert.equal(s.length, Math.min(...real.shape));
  assert.equal(energyKept(s, s.length), 1);
  assert.ok(energyKept(s, real.effective_rank) >= 0.9 - 1e-6);
  assert.ok(energyKept(s, real.effective_rank - 1) < 0.9);
  assert.equal(real.sample.length, 48);
  assert.equal(energyKept([4, 3], 1), 16 / 25); // singular values come descending
});

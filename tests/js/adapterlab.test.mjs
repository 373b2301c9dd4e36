// node --test: the adapter lab's data side, on the recorded real session the widget shows offline.
import './page-facts.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { baseGroups, keptShare, mergeFigures, scoreTable } from '../../static/js/adapterlab-data.js';

const session = JSON.parse(readFileSync(new URL('../../lessons/fine-tuning-llms/recorded/adapter-lab.json', import.meta.url)));

test('finished LoRA-family runs are grouped by the base they need; others are left out', () => {
  const job = (id, method, extra = {}) => ({ id, method, model: 'smollm2-135m', task: 'tone', state: 'done', has_adapter: true, ...extra });
  const groups = baseGroups([
    job('a', 'lora'), job('b', 'sft'), job('c', 'qlora'), job('d', 'prompt'), job('e', 'full', { has_adapter: false }),
    job('f', 'lora', { state: 'running' }), job('g', 'lora', { model: 'tiny-llama' }),
  ]);
  assert.deepEqual(groups.map((g) => [g.key, g.jobs.map((j) => j.id)]), [
    ['smollm2-135m|dense', ['a', 'b']], ['smollm2-135m|nf4', ['c']], ['tiny-llama|dense', ['g']],
  ]);
});

test('the score table has each source, the combination and the base, per task', () => {
  for (const combined of session.combinations) {
    const { tasks, rows } = scoreTable(combined);
    assert.deepEqual(tasks.sort(), ['json-extract', 'tone']);
    assert.deepEqual(rows.map((r) => r.kind), ['source', 'source', 'combined', 'base']);
    const base = rows.at(-1).cells.find((c) => c.task === 'tone');
    assert.equal(base.loss, combined.base_eval.tone.eval_loss);
  }
});

test('kept share: 1 when the combination matches the source, 0 at the base', () => {
  const c = session.combinations[0];
  const tone = c.sources.find((s) => s.task === 'tone');
  const same = { ...c, eval: { ...c.eval, tone: tone.eval.tone, 'json-extract': c.base_eval['json-extract'] } };
  const kept = keptShare(same);
  assert.ok(Math.abs(kept.tone - 1) < 1e-12);
  assert.equal(kept['json-extract'], 0);
});

test('merge figures read the recorded report', () => {
  const f = mergeFigures(session.merges[0]);
  assert.equal(f.diff, session.merges[0].max_abs_logit_diff);
  assert.ok(f.mergedOverBase > 0 && f.adapterOverBase > 0);
  assert.match(f.batch, /held-out prompts/);
});

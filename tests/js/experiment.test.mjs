// node --test: the class experiment front end: shaping results for the class plot (points, per-value mean and
// min–max, own run, failed runs), the text that describes the plot, and the custom experiment form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeResults, settingValue, shapeResults, valueKey } from '../../static/js/experiment/results-data.js';

const run = (cell, setting, seed, state, loss, job = `j${cell}`) => ({
  cell_id: cell, setting, seed, state, job_id: job, measures: loss == null ? {} : { eval_loss: loss, wall_s: 10 + cell },
});

const RESULTS = {
  state: 'running',
  runs: [
    run(1, 1, 0, 'done', 2.0),
    run(2, 1, 1, 'done', 3.0),
    run(3, 8, 0, 'done', 1.5),
    run(4, 8, 1, 'failed', null),
    run(5, 64, 0, 'running', null),
    run(6, 8, 2, 'done', 1.0),
  ],
};

test('one point per finished run; mean, min and max per value, in the experiment order', () => {
  const s = shapeResults(RESULTS, { measure: 'eval_loss', variable: 'rank', values: [1, 8, 64] });
  assert.deepEqual(s.keys, ['1', '8', '64']);
  assert.equal(s.points.length, 4);
  assert.deepEqual(s.groups.map((g) => [g.key, g.n, g.mean, g.min, g.max]), [['1', 2, 2.5, 2, 3], ['8', 2, 1.25, 1, 1.5]]);
  // replicates of one value sit side by side around the value's position, never on top of each other
  const eights = s.points.filter((p) => p.key === '8').map((p) => p.x);
  assert.equal(new Set(eights).size, 2);
  for (const x of eights) assert.ok(Math.abs(x - 1) <= 0.1);
  assert.equal(s.waiting, 1);
  assert.equal(s.total, 6);
});

test('failed and cancelled runs are kept apart with their state, not dropped', () => {
  const s = shapeResults(RESULTS, { measure: 'eval_loss', variable: 'rank', values: [1, 8, 64] });
  assert.deepEqual(s.missing.map((m) => [m.key, m.state, m.x]), [['8', 'failed', 1]]);
});

test('the viewer\'s own run is marked, by cell or by job', () => {
  const byCell = shapeResults(RESULTS, { measure: 'eval_loss', variable: 'rank', own: { cellId: 3 } });
  assert.deepEqual(byCell.points.filter((p) => p.own).map((p) => p.y), [1.5]);
  assert.deepEqual(byCell.ownRun, { key: '8', series: '', seed: 0, state: 'done', value: 1.5 });
  const byJob = shapeResults(RESULTS, { measure: 'eval_loss', own: { jobId: 'j4' } });
  assert.equal(byJob.missing[0].own, true);
  assert.equal(byJob.ownRun.state, 'failed');
});

test('another measure reshapes the same runs', () => {
  const s = shapeResults(RESULTS, { measure: 'wall_s', variable: 'rank' });
  assert.deepEqual(s.groups.map((g) => [g.key, g.mean]), [['1', 11.5], ['8', 14.5]]);
});

test('settings that are lists or objects become one readable key', () => {
  assert.equal(valueKey(['q_proj', 'v_proj']), 'q_proj+v_proj');
  assert.equal(settingValue({ rank: 8 }, 'rank'), 8);
  assert.equal(settingValue({ method: 'lora' }, 'other'), 'lora');
  const s = shapeResults({ runs: [run(1, { method: 'lora' }, 0, 'done', 1), run(2, { method: 'full' }, 0, 'done', 2)] },
    { measure: 'eval_loss', variable: 'method' });
  assert.deepEqual(s.keys, ['lora', 'full']);
});

test('the summary states each value, the failures and the viewer\'s run', () => {
  const s = shapeResults(RESULTS, { measure: 'eval_loss', variable: 'rank', values: [1, 8, 64], own: { cellId: 6 } });
  const text = describeResults(s);
  assert.match(text, /^held-out loss against rank: 4 finished runs of 6, 1 failed or cancelled, 1 still to finish\./);
  assert.match(text, /rank 1: mean 2\.500, from 2\.000 to 3\.000 \(2 runs\)\./);
  assert.match(text, /Lowest mean at rank 8, highest at rank 1\./);
  assert.match(text, /Your run \(rank 8, seed 2\): 1\.000\./);
});

test('no results yet says so', () => {
  const s = shapeResults({ runs: [] }, { measure: 'eval_loss', variable: 'rank', values: [1, 2] });
  assert.equal(s.points.length, 0);
  assert.equal(describeResults(s), 'held-out loss against rank: 0 finished runs of 0.');
});

test('series (LoRA and full at each rate) get their own means, side by side at each value', () => {
  const runs = [
    { ...run(1, 0.01, 0, 'done', 1.0), series: 'LoRA' },
    { ...run(2, 0.01, 0, 'done', 3.0), series: 'full' },
    { ...run(3, 0.001, 0, 'done', 2.0), series: 'LoRA' },
  ];
  const s = shapeResults({ runs }, { measure: 'eval_loss', variable: 'lr', values: [0.001, 0.01] });
  assert.deepEqual(s.series, ['LoRA', 'full']);
  assert.deepEqual(s.groups.map((g) => [g.series, g.key, g.mean]), [['LoRA', '0.001', 2], ['LoRA', '0.01', 1], ['full', '0.01', 3]]);
  const [lora, full] = s.groups.filter((g) => g.key === '0.01').map((g) => g.x);
  assert.ok(lora < 1 && full > 1);
  assert.match(describeResults(s), /full, lr 0\.01: 3\.000 \(1 run\)\./);
});

test('the server\'s shape: value beside the setting, series null, the viewer\'s run marked mine', () => {
  const runs = [
    { cell_id: 'a1', setting: { rank: 4 }, value: 4, series: null, seed: 0, state: 'done', job_id: 'j1', measures: { eval_loss: 2, wall_s: null }, mine: false },
    { cell_id: 'b2', setting: { rank: 16 }, value: 16, series: null, seed: 0, state: 'done', job_id: 'j2', measures: { eval_loss: 1, wall_s: null }, mine: true },
    { cell_id: 'c3', setting: { rank: 1 }, value: 1, series: null, seed: 0, state: 'waiting', job_id: null, measures: {}, mine: false },
  ];
  const s = shapeResults({ runs }, { measure: 'eval_loss', variable: 'rank', values: [1, 4, 16] });
  assert.deepEqual(s.points.map((p) => [p.key, p.own]), [['4', false], ['16', true]]);
  assert.equal(s.waiting, 1);
  assert.equal(s.ownRun.value, 1);
  // a measure the runs did not report (null) gives no point and no mean
  assert.equal(shapeResults({ runs }, { measure: 'wall_s', variable: 'rank' }).groups.length, 0);
});

test('the custom experiment form reads numbers, words and +-joined lists', async () => {
  const { readForm } = await import('../../static/js/experiment/create-form.js');
  const field = (value) => ({ value });
  const form = {
    budget_s: field('300'), preset: field(''), variable: field(' target_modules '), replicates: field('2'),
    values: field('q_proj+v_proj, q_proj+k_proj+v_proj+o_proj'), fixed: field('model=tiny-llama, rank=8, lr=0.006'),
    measures: field('eval_loss, trainable_params'),
  };
  assert.deepEqual(readForm(form), {
    budget_s: 300, variable: 'target_modules', replicates: 2,
    values: [['q_proj', 'v_proj'], ['q_proj', 'k_proj', 'v_proj', 'o_proj']],
    fixed: { model: 'tiny-llama', rank: 8, lr: 0.006 }, measures: ['eval_loss', 'trainable_params'],
  });
  assert.deepEqual(readForm({ ...form, preset: field('rank') }), { budget_s: 300, preset: 'rank' });
});

test("the planner's 422 offers become one-click alternatives", async () => {
  const { offerChoices, offersOf, MAX_BUDGET_S } = await import('../../static/js/experiment/offers.js');
  const err = { status: 422, detail: [{ loc: ['body', 'budget_s'], msg: 'does not fit', ctx: { offers: { budget_s: 900, runs: 3, workers: 1, models: ['tiny-llama'] } } }] };
  const offers = offersOf(err);
  assert.deepEqual(offers, { budget_s: 900, runs: 3, workers: 1, models: ['tiny-llama'] });
  const custom = { budget_s: 30, variable: 'rank', values: [1, 4], fixed: { model: 'smollm2-135m', method: 'lora' } };
  const choices = offerChoices(offers, custom);
  assert.deepEqual(choices.map((c) => c.label), ['Plan with a budget of 900 s', 'Plan it on tiny-llama']);
  assert.equal(choices[0].body.budget_s, 900);
  assert.deepEqual(choices[1].body.fixed, { model: 'tiny-llama', method: 'lora' });
  assert.equal(choices[1].body.budget_s, 30);
  // a preset's settings are its own: only the budget is offered; a budget past the limit is not
  assert.deepEqual(offerChoices(offers, { budget_s: 30, preset: 'rank' }).map((c) => c.label), ['Plan with a budget of 900 s']);
  assert.deepEqual(offerChoices({ budget_s: MAX_BUDGET_S + 1 }, { budget_s: 30, preset: 'rank' }), []);
  assert.equal(offersOf({ status: 422, detail: 'text' }), null);
});

test("a method the class refuses is offered as the class's limits with it added", async () => {
  const { offerChoices, offersOf } = await import('../../static/js/experiment/offers.js');
  const limits = { allowed_methods: ['lora', 'prompt', 'full'], allowed_models: ['tiny-llama', 'smollm2-135m'], max_steps: 60 };
  const err = { status: 422, detail: [{ loc: ['body', 'method'], msg: 'not allowed', ctx: { offers: { limits, allow: ['full'] } } }] };
  const body = { budget_s: 600, preset: 'how-much-moves' };
  const choices = offerChoices(offersOf(err), body);
  assert.deepEqual(choices.map((c) => c.label), ['Allow full in this class and plan again']);
  assert.deepEqual(choices[0].limits, limits); // PUT first, then the same body again
  assert.deepEqual(choices[0].body, body);
});

// node --test: the pure parts of the page's time estimates, keyboard camera and spectrum rows.
import './page-facts.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stepsThatFit } from '../../static/js/eta.js';
import { stageText } from '../../static/js/run-clock.js';
import { turn } from '../../static/js/charts/camera.js';
import { groupByLayer } from '../../static/js/spectrum-rows.js';
import { pct } from '../../static/js/format.js';

test('steps that fit keep a tenth of the limit for the answers after training', () => {
  // 900 s limit, 60 s spent loading, 30 s a step: (810 - 60) / 30 = 25 steps.
  assert.equal(stepsThatFit(900, 60, 30), 25);
  assert.equal(stepsThatFit(900, 2000, 30), 1); // never fewer than one
  assert.equal(stepsThatFit(900, 60, 0), null);
});

test('loading stages are named in words, unknown ones still shown', () => {
  assert.match(stageText('base samples'), /base model's answers/);
  assert.equal(stageText('copying'), "Copying the base model's weights");
  assert.equal(stageText('shards'), 'Preparing (shards)');
});

test('arrow keys turn the camera 15 degrees about the vertical axis, keeping its distance', () => {
  const eye = { x: 1.6, y: -1.6, z: 0.9 };
  const next = turn(eye, 'ArrowRight');
  const r = (e) => Math.hypot(e.x, e.y, e.z);
  assert.ok(Math.abs(r(next) - r(eye)) < 1e-9);
  assert.ok(Math.abs(next.z - eye.z) < 1e-9);
  const angle = Math.atan2(next.y, next.x) - Math.atan2(eye.y, eye.x);
  assert.ok(Math.abs(angle - Math.PI / 12) < 1e-9, String(angle));
  assert.ok(r(turn(eye, '+')) < r(eye) && r(turn(eye, '-')) > r(eye));
  assert.ok(turn(eye, 'ArrowUp').z > eye.z);
  assert.equal(turn(eye, 'a'), null);
});

test('spectrum rows pool the matrices of a transformer layer', () => {
  const layers = [
    { name: 'model.layers.0.self_attn.q_proj', singular_values: [2, 1], effective_rank: 1 },
    { name: 'model.layers.0.self_attn.v_proj', singular_values: [4, 1], effective_rank: 2 },
    { name: 'model.layers.1.self_attn.q_proj', singular_values: [1, 1], effective_rank: 2 },
  ];
  const rows = groupByLayer(layers, true);
  assert.deepEqual(rows.map((r) => r.label), ['layer 0', 'layer 1']);
  assert.deepEqual(rows[0].values, [1, (0.5 + 0.25) / 2]);
  assert.equal(rows[0].effectiveRank, 1.5);
  assert.deepEqual(groupByLayer(layers, false)[0].values, [3, 1]);
});

test('tiny trainable shares read as percentages, not exponents', () => {
  assert.equal(pct(0.0034), '0.0034%');
  assert.equal(pct(0.68), '0.680%');
});

test("the presenter's quiz summary puts the least often right first, unanswered last", async () => {
  const { orderQuestions } = await import('../../static/js/classroom/dashboard-view.js');
  const qs = [
    { id: 'a', answered: 10, share_correct: 0.9 },
    { id: 'b', answered: 0, share_correct: null },
    { id: 'c', answered: 10, share_correct: 0.24 },
    { id: 'd', answered: 5, share_correct: 0.6 },
  ];
  assert.deepEqual(orderQuestions(qs, true).map(([q, i]) => `${q.id}${i + 1}`), ['c3', 'd4', 'a1', 'b2']);
  assert.deepEqual(orderQuestions(qs, false).map(([q]) => q.id), ['a', 'b', 'c', 'd']);
});

// node --test: the event store dedupes replays and keeps the series the charts read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobEvents, parseJsonl } from '../../static/js/store.js';

const step = (seq, n) => ({ seq, job_id: 'j', type: 'step', time: 0, step: n, loss: 1 / n, lr: 1, grad_norm: 1, tokens_per_s: 1, elapsed_s: n, eta_s: 0, memory_bytes: 100 * n });

test('a replay after reconnecting adds nothing twice', () => {
  const store = new JobEvents('j');
  const seen = [];
  store.subscribe((e) => seen.push(e.seq));
  assert.equal(store.addAll([step(1, 1), step(2, 2)]), 2);
  assert.equal(store.addAll([step(2, 2), step(3, 3)]), 1); // after=1 replayed seq 2 again
  assert.deepEqual(seen, [1, 2, 3]);
  assert.equal(store.steps.length, 3);
  assert.equal(store.lastSeq, 3);
});

test('out-of-order input is applied in seq order', () => {
  const store = new JobEvents('j');
  store.addAll([step(3, 3), step(1, 1), step(2, 2)]);
  assert.deepEqual(store.steps.map((e) => e.step), [1, 2, 3]);
});

test('summary takes the measured numbers, terminal event ends the job', () => {
  const store = new JobEvents('j');
  store.add({ seq: 1, type: 'started', model: 'm', method: 'lora', device: 'cpu', trainable_params: 10, total_params: 1000, trainable_pct: 1, adapter_bytes: 40 });
  store.add(step(2, 1));
  store.add(step(3, 2));
  store.add({ seq: 4, type: 'eval', step: 2, eval_loss: 0.7 });
  assert.equal(store.finished, false);
  store.add({ seq: 5, type: 'done', summary: { wall_s: 3.5 } });
  const s = store.summary();
  assert.equal(store.finished, true);
  assert.equal(s.trainable_pct, 1);
  assert.equal(s.eval_loss, 0.7);
  assert.equal(s.peak_memory_bytes, 200);
  assert.equal(s.wall_s, 3.5);
  assert.equal(s.state, 'done');
});

test('parseJsonl skips blank lines', () => {
  assert.equal(parseJsonl('{"seq":1}\n\n{"seq":2}\n').length, 2);
});

test('store.events holds every event once, in seq order, however they arrived', () => {
  const store = new JobEvents('j');
  store.add({ seq: 1, type: 'queued', position: 0, eta_s: null });
  store.add(step(4, 2));
  store.add(step(2, 1)); // a late one (a gap filled from the store) goes before the later seqs
  store.add({ seq: 3, type: 'eval', step: 1, eval_loss: 0.7 });
  store.add(step(4, 2)); // a replayed duplicate
  assert.deepEqual(store.events.map((e) => e.seq), [1, 2, 3, 4]);
});

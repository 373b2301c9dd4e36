// node --test: the run clock (status line and time left) on a real recorded SmolLM2 LoRA run.
import './page-facts.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { RunClock, timeLeftText } from '../../static/js/run-clock.js';
import { seconds } from '../../static/js/format.js';

const events = readFileSync(new URL('../../lessons/fine-tuning-llms/recorded/lora.jsonl', import.meta.url), 'utf8')
  .split('\n').filter(Boolean).map((line) => JSON.parse(line));
const done = events.find((e) => e.type === 'done');

test('the status names the stage in words and agrees with the step count at every event', () => {
  const clock = new RunClock();
  let lastStep = 0;
  for (const e of events) {
    clock.add(e);
    const text = clock.status();
    if (e.type === 'step') lastStep = e.step;
    if (e.type === 'loading' && e.stage !== 'tuned samples') assert.doesNotMatch(text, /^Loading (copying|method|step-0)/);
    if (['step', 'eval', 'spectrum'].includes(e.type) && lastStep > 0) {
      assert.match(text, new RegExp(`^Training: step ${lastStep} of 20`), `${e.type} ${e.step}: ${text}`);
    }
    if (e.type === 'step' && e.step % 20 === 0) assert.match(text, /measuring the held-out loss/);
    if (e.type === 'loading' && e.stage === 'tuned samples') assert.match(text, /Writing the tuned model's answers/);
  }
  assert.equal(clock.status(), ''); // finished: the panel says Done itself
});

test('time left is within 20 % from step 3 on and never zero while work remains', () => {
  const clock = new RunClock();
  for (const e of events) {
    clock.add(e);
    if (e.type === 'done') break;
    const left = clock.remaining();
    if (clock.step > 0) { // from the first step on, every event: steps, evaluations, spectra, answers
      assert.ok(left >= 1, `${e.type} ${e.step}: ${left} s left`);
      assert.notEqual(timeLeftText(left, seconds), '0.0 s');
    }
    if (e.type === 'step' && e.step >= 3) {
      const actual = done.time - e.time;
      assert.ok(Math.abs(left - actual) <= 0.2 * actual, `step ${e.step}: ${left.toFixed(1)} s vs ${actual.toFixed(1)} s`);
    }
  }
});

test('a pause for evaluation is not counted as a slow step', () => {
  const clock = new RunClock();
  clock.add({ type: 'started', time: 0, steps: 10, config: { eval_every: 5, spectrum_every: 0 } });
  clock.add({ type: 'eval', time: 10, step: 0 });
  let t = 10;
  for (let step = 1; step <= 6; step += 1) {
    t += 2;
    clock.add({ type: 'step', time: t, step });
    if (step === 5) {
      t += 30; // the evaluation
      clock.add({ type: 'eval', time: t, step: 5 });
    }
  }
  assert.equal(clock.pace(), 2);
  assert.equal(timeLeftText(0.4, seconds), 'a moment');
});

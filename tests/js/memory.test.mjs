// node --test: the memory calculator's arithmetic against the lesson's worked numbers.
// Agreement with app/lesson/calculators.py on a grid of inputs: tests/js/test_node.py.
import './page-facts.mjs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memory } from '../../static/js/memory-math.js';

test('7B in FP32, full fine-tuning: 28 GB of weights, 28 GB of gradients, 56 GB of Adam states', () => {
  const r = memory({ model: '7', precision: 'fp32', method: 'full' });
  assert.equal(r.weights, 28e9);
  assert.equal(r.gradients, 28e9);
  assert.equal(r.optimizer, 56e9);
});

test('bf16 mixed precision costs the classic 16 bytes per parameter before activations', () => {
  const r = memory({ model: '7', precision: 'bf16', method: 'full' });
  assert.equal(r.weights + r.gradients + r.optimizer, 16 * 7e9);
});

test('LoRA r=16 on q,v of a 7B model trains 8.4M parameters; Adam states shrink to MB', () => {
  const r = memory({ model: '7', precision: 'bf16', method: 'lora', rank: 16 });
  assert.equal(r.trainable, 2 * 32 * 16 * 8192); // two 4096×4096 projections per layer, 32 layers
  assert.ok(r.optimizer < 1e8);
  assert.equal(r.activations, memory({ model: '7', precision: 'bf16', method: 'full' }).activations);
});

test('70B in 4-bit is more than 35 GB: the quantisation constants count', () => {
  const r = memory({ model: '70', precision: '4bit', method: 'qlora', rank: 16 });
  const base = 70e9 * ((4 + 8 / 64 + 32 / (64 * 256)) / 8);
  assert.ok(Math.abs(r.weights - base - r.trainable * 4) < 1);
  assert.ok(r.weights > 36e9);
});

test('full fine-tuning of 4-bit weights is refused', () => {
  assert.throws(() => memory({ model: '7', precision: '4bit', method: 'full' }), /4-bit/);
});

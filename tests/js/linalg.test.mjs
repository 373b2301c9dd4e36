// node --test: the LoRA explorer's maths against facts that do not depend on our code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleMatrix, svd, lowRank, truncationError, loraCounts } from '../../static/js/linalg.js';

test('lesson numbers: d=4096, r=16 gives 16,777,216 against 131,072, 128x fewer', () => {
  const c = loraCounts(4096, 4096, 16);
  assert.equal(c.full, 16777216);
  assert.equal(c.lora, 131072);
  assert.equal(c.ratio, 128);
});

test('singular values of a diagonal matrix are its sorted absolute entries', () => {
  const m = [[3, 0, 0], [0, -5, 0], [0, 0, 1]];
  const { s } = svd(m);
  assert.deepEqual(s.map((x) => Number(x.toFixed(10))), [5, 3, 1]);
});

test('the full-rank reconstruction equals the matrix; Frobenius norm is preserved', () => {
  const m = exampleMatrix(12, 'noise', 3);
  const dec = svd(m);
  const back = lowRank(dec, 12);
  let err = 0;
  let fro = 0;
  for (let i = 0; i < 12; i += 1) for (let j = 0; j < 12; j += 1) {
    err = Math.max(err, Math.abs(back[i][j] - m[i][j]));
    fro += m[i][j] ** 2;
  }
  assert.ok(err < 1e-9, `max reconstruction error ${err}`);
  const energy = dec.s.reduce((a, x) => a + x * x, 0);
  assert.ok(Math.abs(energy - fro) < 1e-9);
});

test('truncation error matches the measured error of the rank-r product (Eckart–Young)', () => {
  const m = exampleMatrix(20, 'decaying', 1);
  const dec = svd(m);
  for (const r of [1, 3, 8]) {
    const approx = lowRank(dec, r);
    let diff = 0;
    let total = 0;
    for (let i = 0; i < 20; i += 1) for (let j = 0; j < 20; j += 1) {
      diff += (m[i][j] - approx[i][j]) ** 2;
      total += m[i][j] ** 2;
    }
    assert.ok(Math.abs(Math.sqrt(diff / total) - truncationError(dec.s, r)) < 1e-9);
  }
});

test('a decaying update is captured at low rank; noise is not', () => {
  const smooth = svd(exampleMatrix(48, 'decaying')).s;
  const noise = svd(exampleMatrix(48, 'noise')).s;
  assert.ok(truncationError(smooth, 8) < 0.1, `decaying rank-8 error ${truncationError(smooth, 8)}`);
  assert.ok(truncationError(noise, 8) > 0.6, `noise rank-8 error ${truncationError(noise, 8)}`);
});

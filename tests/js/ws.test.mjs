// node --test: the job socket reconnects with ?after=<last seq>, backs off, and stops at the end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobEvents } from '../../static/js/store.js';
import { JobSocket } from '../../static/js/ws.js';

class FakeSocket {
  static made = [];
  constructor(url) {
    this.url = url;
    FakeSocket.made.push(this);
  }
  close() {
    this.closed = true;
  }
  emit(event) {
    this.onmessage({ data: JSON.stringify(event) });
  }
  drop(code = 1006) {
    this.onclose({ code });
  }
}

globalThis.location = { protocol: 'http:', host: 'lab.local:8000' };
globalThis.WebSocket = FakeSocket;

const ev = (seq, type = 'step') => ({ seq, type, job_id: 'j1', step: seq, loss: 1 });

test('a dropped connection resumes after the last seq, with growing delays', async () => {
  FakeSocket.made = [];
  const store = new JobEvents('j1');
  const statuses = [];
  const socket = new JobSocket('j1', store, { baseDelayMs: 5, maxDelayMs: 40, onStatus: (s) => statuses.push(s) });
  socket.open();
  assert.equal(FakeSocket.made[0].url, 'ws://lab.local:8000/ws/jobs/j1?after=0');
  FakeSocket.made[0].onopen();
  FakeSocket.made[0].emit(ev(1));
  FakeSocket.made[0].emit(ev(2));
  FakeSocket.made[0].drop();
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(FakeSocket.made.length, 2);
  assert.equal(FakeSocket.made[1].url, 'ws://lab.local:8000/ws/jobs/j1?after=2');
  // The server replays seq 2 again at the seam: the store keeps one copy.
  FakeSocket.made[1].onopen();
  FakeSocket.made[1].emit(ev(2));
  FakeSocket.made[1].emit(ev(3, 'done'));
  assert.deepEqual(store.steps.map((e) => e.seq), [1, 2]);
  assert.equal(store.finished, true);
  assert.equal(statuses.at(-1), 'finished');
  assert.equal(FakeSocket.made[1].closed, true);
});

test('backoff doubles up to the cap; an unknown job stops retrying', async () => {
  FakeSocket.made = [];
  const store = new JobEvents('j2');
  const socket = new JobSocket('j2', store, { baseDelayMs: 1000, maxDelayMs: 4000 });
  const delays = [];
  const realTimeout = globalThis.setTimeout;
  globalThis.setTimeout = (fn, ms) => { delays.push(ms); return 0; };
  try {
    for (let i = 0; i < 4; i += 1) socket.schedule();
  } finally {
    globalThis.setTimeout = realTimeout;
  }
  // 1000, 2000, 4000, 4000 with ±25% jitter.
  [1000, 2000, 4000, 4000].forEach((base, i) => assert.ok(delays[i] >= base * 0.75 && delays[i] <= base * 1.25, `${delays[i]}`));
  const other = new JobSocket('gone', new JobEvents('gone'), { baseDelayMs: 1 });
  other.open();
  FakeSocket.made.at(-1).drop(4404);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(other.closed, true);
  assert.equal(FakeSocket.made.filter((s) => s.url.includes('/gone?')).length, 1);
});

// Events of one job, deduplicated by seq, with the series the charts read.
// Live (websocket), fetched (GET /events) and recorded (JSONL) streams all land here,
// so a chart never knows where its points came from.
export const TERMINAL = new Set(['done', 'failed', 'cancelled']);

export class JobEvents {
  constructor(jobId, { recorded = false } = {}) {
    this.jobId = jobId;
    this.recorded = recorded;
    this.reset();
    this.listeners = new Set();
  }

  reset() {
    this.seen = new Set();
    this.events = []; // every event, in seq order
    this.lastSeq = 0;
    this.started = null;
    this.steps = [];
    this.evals = [];
    this.samples = [];
    this.spectra = [];
    this.queued = null;
    this.loading = null;
    this.terminal = null;
  }

  get finished() {
    return this.terminal !== null;
  }

  // Calls fn(event, store) for every new event; returns an unsubscribe function.
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  // Adds one event; returns false for a duplicate (a replay after reconnecting).
  add(event) {
    if (!event || typeof event.seq !== 'number' || this.seen.has(event.seq)) return false;
    this.seen.add(event.seq);
    if (event.seq > this.lastSeq) this.events.push(event);
    else this.events.splice(this.events.findIndex((e) => e.seq > event.seq), 0, event);
    this.lastSeq = Math.max(this.lastSeq, event.seq);
    switch (event.type) {
      case 'queued': this.queued = event; break;
      case 'loading': this.loading = event; break;
      case 'started': this.started = event; break;
      case 'step': this.steps.push(event); break;
      case 'eval': this.evals.push(event); break;
      case 'sample': this.samples.push(event); break;
      case 'spectrum': this.spectra.push(event); break;
      default:
        if (TERMINAL.has(event.type)) this.terminal = event;
    }
    for (const fn of this.listeners) fn(event, this);
    return true;
  }

  addAll(events) {
    let added = 0;
    for (const event of [...events].sort((a, b) => a.seq - b.seq)) if (this.add(event)) added += 1;
    return added;
  }

  // The numbers of the comparison table, from what was measured.
  summary() {
    const s = this.started || {};
    const lastEval = this.evals[this.evals.length - 1];
    const lastStep = this.steps[this.steps.length - 1];
    const done = this.terminal && this.terminal.type === 'done' ? this.terminal.summary || {} : {};
    const peak = this.steps.reduce((m, e) => Math.max(m, e.memory_bytes || 0), 0);
    return {
      model: s.model,
      method: s.method,
      task: s.task,
      trainable_params: s.trainable_params,
      trainable_pct: s.trainable_pct,
      adapter_bytes: s.adapter_bytes,
      eval_loss: lastEval ? lastEval.eval_loss : done.final_eval_loss ?? null,
      metric: lastEval && lastEval.metric != null ? lastEval.metric : null,
      metric_name: lastEval ? lastEval.metric_name : null,
      wall_s: done.wall_s ?? done.elapsed_s ?? (lastStep ? lastStep.elapsed_s : null),
      peak_memory_bytes: done.peak_memory_bytes ?? (peak || null),
      state: this.terminal ? this.terminal.type : 'running',
      recorded: this.recorded,
    };
  }
}

// Parses a JSONL text (one event per line) into events, skipping blank lines.
export function parseJsonl(text) {
  return text.split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line));
}

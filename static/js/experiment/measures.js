// A finished run's measures read from its events, the way the server's app/experiments/measures.py
// reads them, for a solo learner's own run (a class run's measures come with the class results).
export function measuresFromEvents(events) {
  let lastEval = null;
  let lastSpectrum = null;
  let started = null;
  let terminal = null;
  let peak = 0;
  for (const event of events) {
    if (event.type === 'eval' && (!lastEval || event.step >= lastEval.step)) lastEval = event;
    else if (event.type === 'spectrum' && event.layers?.length) lastSpectrum = event;
    else if (event.type === 'started') started = event;
    else if (event.type === 'step') peak = Math.max(peak, event.memory_bytes || 0);
    else if (['done', 'failed', 'cancelled'].includes(event.type)) terminal = event;
  }
  const measures = {
    eval_loss: null, metric: null, degenerate: null, effective_rank: null,
    trainable_params: null, trainable_pct: null, peak_memory_mb: null, wall_s: null,
  };
  if (lastEval) {
    measures.eval_loss = lastEval.eval_loss;
    measures.metric = lastEval.metric ?? null;
    measures.degenerate = lastEval.degenerate ?? null;
  }
  if (lastSpectrum) {
    measures.effective_rank = lastSpectrum.layers.reduce((a, l) => a + l.effective_rank, 0) / lastSpectrum.layers.length;
  }
  if (started) {
    measures.trainable_params = started.trainable_params;
    measures.trainable_pct = started.trainable_pct;
    if (terminal) measures.wall_s = Math.round((terminal.time - started.time) * 1000) / 1000;
  }
  if (peak) measures.peak_memory_mb = Math.round(peak / 1e5) / 10;
  return measures;
}

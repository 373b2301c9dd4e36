// A finished run's measures, read from its events as the server reads them, for a solo learner's
// own run (a class run's measures come from the server's results).
export function measuresFromStore(store) {
  const started = store.started || {};
  const lastEval = store.evals[store.evals.length - 1];
  const lastSpectrum = store.spectra.filter((e) => (e.layers || []).length).pop();
  const done = store.terminal?.type === 'done' ? store.terminal.summary || {} : {};
  const peak = store.steps.reduce((m, e) => Math.max(m, e.memory_bytes || 0), 0);
  const first = store.events.find((e) => e.type === 'started');
  const measures = {
    eval_loss: lastEval?.eval_loss ?? done.final_eval_loss,
    metric: lastEval?.metric ?? done.metric,
    trainable_params: started.trainable_params,
    trainable_pct: started.trainable_pct,
    peak_memory_mb: peak ? peak / 1e6 : undefined,
    wall_s: done.wall_s ?? (first && store.terminal ? store.terminal.time - first.time : undefined),
    effective_rank: lastSpectrum
      ? lastSpectrum.layers.reduce((a, l) => a + l.effective_rank, 0) / lastSpectrum.layers.length : undefined,
  };
  return Object.fromEntries(Object.entries(measures).filter(([, v]) => Number.isFinite(v)));
}

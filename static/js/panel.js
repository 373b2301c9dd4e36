// The live training panel: pick, start, watch, cancel. The job id lives in the URL (?job=<id>),
// so a refresh or a dropped connection resumes with ?after=<last seq> and the charts come back whole.
import { h } from './dom.js';
import { api, ApiError } from './api.js';
import { PanelForm } from './panel-form.js';
import { JobEvents } from './store.js';
import { follow } from './ws.js';
import { LossChart } from './charts/loss.js';
import { Spectrum3D } from './charts/spectrum3d.js';
import { SoftPrompt3D } from './charts/softprompt3d.js';
import { loadRecorded, notebookLink, notebookUrl } from './recorded.js';
import { generateBox } from './generate.js';
import { baseGroups } from './adapterlab-data.js';
import { setLiveJob } from './live.js';
import { getParam, setParams } from './url.js';
import { bytes, compact, int, num, pct, seconds } from './format.js';
import { LimitWarning, stepsThatFit } from './eta.js';
import { RunClock, timeLeftText } from './run-clock.js';

const STATS = [
  ['state', 'state'], ['queue', 'queue position'], ['step', 'step'], ['trainable', 'trainable params'],
  ['share', 'trainable share'], ['tps', 'tokens / s'], ['eta', 'time left'], ['memory', 'peak memory'], ['device', 'device'], ['weights', 'weights from'],
];

export async function mount(container) {
  const [models, methods, tasks, health] = await Promise.all([api.models(), api.methods(), api.tasks(), api.health()]);
  const limit = health.job_time_limit_s; // the server stops a job here; the panel warns before
  const formBox = h('div');
  const start = h('button', { type: 'button', class: 'primary' }, 'Start training');
  const cancel = h('button', { type: 'button', class: 'danger', disabled: true }, 'Cancel');
  const status = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', tabindex: '-1' });
  const warning = h('div', { class: 'eta-warning-slot' });
  const note = h('p', { class: 'panel-note', role: 'status' }); // what a fix did (outlives the run's events)
  let runStart = null; // server time of the run's first event after the queue
  const clock = new RunClock(); // the status line and time left, from the run's events
  const statEls = {};
  const stats = h('dl', { class: 'stats' }, STATS.map(([key, label]) => {
    statEls[key] = h('dd', { 'data-stat': key }, '–');
    return h('div', { class: 'stat' }, h('dt', {}, label), statEls[key]);
  }));
  const logBox = h('input', { type: 'checkbox', id: 'loss-log' });
  const lossCell = h('div', { class: 'plot-cell' });
  // ΔW spectrum or soft-prompt geometry, whichever the method's spectrum kind (from /api/methods) is
  const spectrumCell = h('div');
  const softCell = h('div', { hidden: true });
  const geoCell = h('div', { class: 'plot-cell' }, spectrumCell, softCell);
  const sample = h('div', { class: 'sample-box' });
  const after = h('div');
  container.append(
    formBox, h('div', { class: 'panel-actions' }, start, cancel, h('label', { for: 'loss-log' }, logBox, ' log-scale loss')),
    status, warning, note, stats, h('div', { class: 'plot-row' }, lossCell, geoCell), sample, after,
  );
  const loss = new LossChart(lossCell);
  const spectrum = new Spectrum3D(spectrumCell, { title: 'ΔW spectrum of this run', height: 340, normalise: false });
  const spectrumKind = Object.fromEntries(methods.map((m) => [m.name, m.spectrum]));
  let softPrompt = null;
  logBox.addEventListener('change', () => loss.setLogScale(logBox.checked));

  const form = new PanelForm(formBox, { models, methods, tasks });
  let store = null;
  let stream = null;
  let unsubscribe = () => {};

  function setStat(key, text) {
    statEls[key].textContent = text;
  }

  // One place turns events into what the panel shows, for live and recorded stores alike. The
  // status line and the time left come from the run clock at every event, so they always agree
  // with the step count.
  function render(event, s) {
    clock.add(event);
    if (!['done', 'failed', 'cancelled'].includes(event.type)) {
      status.textContent = clock.status();
      if (clock.step || clock.phase === 'finishing') setStat('eta', timeLeftText(clock.remaining(), seconds));
    }
    switch (event.type) {
      case 'queued':
        setStat('queue', event.position === 0 ? 'next' : `${event.position} ahead`);
        // The server's estimate counts the running jobs' time left; under a second means "any moment".
        status.textContent = `${clock.status()}${event.eta_s != null ? `; starts in ${event.eta_s < 1 ? 'a moment' : `about ${seconds(event.eta_s)}`}` : ''}.`;
        warnIfOver(event.run_s, { queued: true, spent: 0, pace: null, s });
        break;
      case 'loading':
        setStat('queue', '–'); // out of the queue: this job holds a worker now
        if (runStart == null) runStart = event.time;
        break;
      case 'started':
        setStat('queue', '–');
        for (const label of container.querySelectorAll('[data-run-label]')) label.textContent = ` Live run: ${event.method} on ${event.model}`;
        setStat('trainable', compact(event.trainable_params));
        setStat('share', pct(event.trainable_pct));
        setStat('device', event.device);
        setStat('weights', event.weights || 'not recorded');
        useGeometry(event.method);
        break;
      case 'step':
        loss.addPoint('train', event.step, event.loss);
        setStat('step', `${event.step}${s.started && s.started.steps ? ` / ${s.started.steps}` : ''}`);
        setStat('tps', int(event.tokens_per_s));
        setStat('memory', bytes(event.memory_bytes));
        if (!s.recorded) {
          const start = runStart ?? s.started?.time;
          const left = clock.remaining();
          const projected = left == null ? null : Math.max(0, event.time - start) + left;
          warnIfOver(projected, { queued: false, spent: event.time - start - event.elapsed_s, pace: clock.pace(), s });
        }
        break;
      case 'eval':
        loss.addPoint('eval', event.step, event.eval_loss);
        break;
      case 'spectrum':
        if (event.soft_prompt && softPrompt) softPrompt.addPoint(event);
        else spectrum.addPoint(event);
        break;
      case 'sample':
        showSample(event);
        break;
      case 'done':
        status.textContent = `Done${s.recorded ? ' (recorded run)' : ''}. ${summaryText(event.summary)}`;
        if (notebookUrl(s)) {
          container.querySelector('.panel-badge')?.append(' ', notebookLink(s), ' (a notebook that reproduces it)');
        }
        if (!s.recorded) {
          showTryIt(s);
          // The quiz adds questions computed from this run's events (now, or when it mounts later).
          document.documentElement.dataset.runDone = s.jobId;
          window.dispatchEvent(new CustomEvent('ftlab:run-done', { detail: { jobId: s.jobId } }));
        }
        break;
      case 'failed': status.textContent = `Failed: ${event.error}`; break;
      case 'cancelled': status.textContent = 'Cancelled.'; break;
      default:
    }
    if (event.type === 'queued' || event.type === 'loading' || event.type === 'started' || s.finished) {
      setStat('state', s.finished ? s.terminal.type : event.type === 'started' || s.started ? 'running' : event.type);
    }
    // A run stopped at the time limit keeps the advice (fewer steps, the recorded run) in view.
    if (s.finished && !(s.terminal.type === 'failed' && warning.childElementCount)) warning.replaceChildren();
    if (s.finished) setStat('eta', '–'); // nothing is left once the run has ended, however it ended
    if (s.finished && !s.recorded) setRunning(false);
  }

  // The warning and its fixes, shown while the run's estimate passes the server's time limit.
  let limitNotice = null;
  function warnIfOver(projected, { queued, spent, pace, s }) {
    if (!limit || projected == null || projected <= limit) {
      warning.replaceChildren();
      return;
    }
    const steps = s.started?.steps;
    const fit = queued ? null : stepsThatFit(limit, spent, pace);
    limitNotice ||= new LimitWarning({
      onSteps: async (n) => {
        if (store && !store.recorded && !store.finished) await api.cancelJob(store.jobId).catch(() => {});
        setRunning(false);
        form.load({ ...form.config(), steps: n });
        note.textContent = `Stopped the run and set ${n} steps, which fit in the time limit at the pace measured: press Start.`;
        start.focus();
      },
      onRecorded: () => watchRecorded(),
    });
    limitNotice.update({ limit, projected, queued, fitSteps: fit && steps && fit < steps ? fit : null });
    if (!warning.contains(limitNotice.el)) warning.replaceChildren(limitNotice.el);
  }

  // A recorded run of the chosen method (or LoRA) instead of a live one that cannot run.
  async function watchRecorded() {
    if (store && !store.recorded && !store.finished) await api.cancelJob(store.jobId).catch(() => {});
    const method = form.config().method;
    const recorded = await loadRecorded(method).catch(() => null) || await loadRecorded('lora').catch(() => null);
    if (!recorded) return;
    setParams({ job: null });
    setRunning(false);
    show(recorded, { badge: 'recorded' });
    status.focus();
  }

  function useGeometry(method) {
    const soft = spectrumKind[method] === 'soft_prompt';
    spectrumCell.hidden = soft; // shown before drawing: a hidden plot has no size
    softCell.hidden = !soft;
    if (soft && !softPrompt) softPrompt = new SoftPrompt3D(softCell, { height: 340 });
    else if (!soft && softPrompt) {
      softCell.replaceChildren();
      softPrompt = null;
    }
  }

  // After a live run: prompts for the tuned model, and its adapter if the job saved one (the job says).
  async function showTryIt(s) {
    const [job, jobs] = await Promise.all([api.job(s.jobId).catch(() => null), api.jobs().catch(() => [])]);
    if (store !== s) return; // another run is shown by now
    const group = baseGroups(jobs).find((g) => g.jobs.some((j) => j.id === s.jobId));
    after.replaceChildren(generateBox(s.jobId, {
      samplePrompt: s.samples.length ? s.samples[s.samples.length - 1].prompt : '',
      hasAdapter: Boolean(job && job.has_adapter),
      siblings: group ? group.jobs : [],
    }));
  }

  // Every sample of the latest step: the same prompts before training and now.
  function showSample(event) {
    const latest = store ? store.samples.filter((s) => s.step === event.step) : [event];
    sample.replaceChildren(h('h3', {}, `Samples at step ${event.step}`), ...latest.map((s) => h('div', { class: 'sample-item' },
      h('p', {}, h('strong', {}, 'Prompt: '), s.prompt),
      h('div', { class: 'sample' },
        h('div', {}, h('strong', {}, 'Before fine-tuning'), h('pre', {}, s.before || '(nothing)')),
        h('div', {}, h('strong', {}, `After step ${s.step}`), h('pre', {}, s.after || '(nothing)'))))));
  }

  function resetView() {
    loss.reset();
    spectrum.reset();
    if (softPrompt) softPrompt.reset();
    sample.replaceChildren();
    after.replaceChildren();
    warning.replaceChildren();
    note.textContent = '';
    runStart = null;
    clock.reset();
    for (const key of Object.keys(statEls)) setStat(key, '–');
  }

  function show(next, { badge }) {
    if (stream) stream.close('switched');
    stream = null;
    store = next;
    resetView();
    status.textContent = '';
    const label = h('span', { class: `badge ${badge}` }, badge);
    container.querySelector('.panel-badge')?.remove();
    const what = next.started ? `${next.started.method} on ${next.started.model}` : 'run';
    status.before(h('p', { class: 'panel-badge' }, label, badge === 'recorded'
      ? ` A recorded ${what}, shipped with the lesson (real numbers from ftlab train). Press Start to train your own.`
      : h('span', { 'data-run-label': '' }, ` Live run${next.started ? `: ${what}` : ''}`))); // not the job id: it says nothing to a student
    for (const event of next.events) render(event, next); // the store keeps them in seq order
    unsubscribe();
    unsubscribe = next.subscribe(render);
  }

  function setRunning(running) {
    start.disabled = running;
    cancel.disabled = !running;
    form.setDisabled(running);
  }

  async function followJob(id) {
    const next = new JobEvents(id);
    show(next, { badge: 'live' });
    setRunning(true);
    setLiveJob(next);
    setParams({ job: id });
    stream = follow(id, next, (state) => {
      if (state === 'reconnecting') status.textContent = 'Connection lost; reconnecting… (the job keeps running)';
      if (state === 'unknown job') {
        status.textContent = `Job ${id} is not on this server any more.`;
        setParams({ job: null });
        setRunning(false);
      }
    });
  }

  start.addEventListener('click', async () => {
    form.clearErrors();
    note.textContent = '';
    start.disabled = true;
    try {
      const job = await api.startJob(form.config());
      await followJob(job.id);
      if (job.queue_position) setStat('queue', `${job.queue_position} ahead`);
      status.focus(); // not Cancel: a second press of Enter must not stop the run just started
    } catch (err) {
      start.disabled = false;
      if (err instanceof ApiError) form.showErrors(err.fields, err.message);
      else form.showErrors({}, `Could not reach the server: ${err.message}`);
      // Refused (a class is open, a class limit): the reason is above; the recorded runs still play.
      if (err instanceof ApiError && err.status === 403) {
        warning.replaceChildren(h('div', { class: 'eta-warning', role: 'alert' }, h('p', {}, `Training is not open to you here: ${err.message}.`),
          h('div', { class: 'eta-fixes' }, h('button', { type: 'button', onclick: () => watchRecorded() }, 'Watch the recorded run'))));
      }
    }
  });

  cancel.addEventListener('click', async () => {
    if (!store || store.recorded) return;
    cancel.disabled = true;
    try {
      await api.cancelJob(store.jobId);
    } catch (err) {
      status.textContent = `Could not cancel: ${err.message}`;
      cancel.disabled = false;
    }
  });

  // A class experiment's cell (experiment/cell.js) hands the panel the student's run to play.
  window.addEventListener('ftlab:follow-job', (e) => {
    if (store?.jobId !== e.detail.jobId) followJob(e.detail.jobId);
  });

  const jobId = getParam('job');
  if (jobId && /^[A-Za-z0-9_-]{1,32}$/.test(jobId)) {
    try {
      const job = await api.job(jobId);
      form.load({ ...job.config, model: job.model, method: job.method, task: job.task });
    } catch {
      // Someone else's run (a pinned one, say) may be watchable without its details: the stream decides.
    }
    await followJob(jobId);
    return;
  }
  const recorded = await loadRecorded('lora').catch(() => null);
  if (recorded && !store) show(recorded, { badge: 'recorded' });
}

function summaryText(summary = {}) {
  const parts = [];
  if (summary.final_eval_loss != null) parts.push(`held-out loss ${num(summary.final_eval_loss)}`);
  if (summary.metric != null) parts.push(`${(summary.metric_name || 'metric').replaceAll('_', ' ')} ${num(summary.metric)}`);
  // dpo: how much more the tuned model prefers chosen over rejected answers than the base did (β·log-ratio)
  if (summary.reward_margin != null) parts.push(`reward margin ${num(summary.reward_margin)}`);
  if (summary.wall_s != null) parts.push(`${seconds(summary.wall_s)} wall time`);
  return parts.join(', ');
}

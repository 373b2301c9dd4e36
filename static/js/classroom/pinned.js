// The class's pinned run: a status line and the loss curve, following the job on the normal
// /ws/jobs/{id} stream (replay first, then live), so everyone sees the same real run.
import { h } from '../dom.js';
import { JobEvents } from '../store.js';
import { follow } from '../ws.js';
import { LossChart } from '../charts/loss.js';
import { num, seconds } from '../format.js';
import { RunClock, timeLeftText } from '../run-clock.js';

export class PinnedRun {
  constructor(container, { height = 240, title = "The instructor's run", fontSize = null } = {}) {
    this.title = h('strong', {}, title);
    this.line = h('span', { class: 'pinned-status', 'data-pinned-status': '' }, 'No run is pinned.');
    this.link = h('a', { class: 'pinned-link', hidden: true }, 'open in the lesson');
    this.chartBox = h('div', { class: 'pinned-chart', hidden: true });
    container.append(h('p', { class: 'pinned-head' }, this.title, ' ', this.line, ' ', this.link), this.chartBox);
    this.height = height;
    this.fontSize = fontSize;
    this.jobId = null;
    this.stream = null;
    this.chart = null;
    this.store = null;
  }

  show(jobId, lesson = null) {
    if (jobId === this.jobId) return;
    if (this.stream) this.stream.close('unpinned');
    this.jobId = jobId;
    this.stream = null;
    if (!jobId) {
      this.line.textContent = 'No run is pinned.';
      this.chartBox.hidden = true;
      this.link.hidden = true;
      return;
    }
    this.chartBox.hidden = false;
    if (!this.chart) this.chart = new LossChart(this.chartBox, { height: this.height, fontSize: this.fontSize });
    this.chart.reset();
    if (lesson) {
      this.link.href = `/lessons/${encodeURIComponent(lesson)}?job=${encodeURIComponent(jobId)}#widget-live-panel`;
      this.link.hidden = false;
    }
    this.line.textContent = 'connecting…';
    this.line.dataset.jobId = jobId;
    this.clock = new RunClock();
    this.store = new JobEvents(jobId);
    this.store.subscribe((event, store) => this.render(event, store));
    this.stream = follow(jobId, this.store, () => {});
  }

  render(event, store) {
    const started = store.started;
    this.clock.add(event);
    const left = timeLeftText(this.clock.remaining(), seconds);
    const leftPart = left === '–' ? '' : `, ${left} left`; // the time left on the run, once measurable
    const total = started && started.steps ? ` / ${started.steps}` : '';
    switch (event.type) {
      case 'queued':
        this.line.textContent = `queued, ${event.position} job(s) ahead`;
        break;
      case 'loading':
        this.line.textContent = `${this.clock.status()}${this.clock.phase === 'finishing' ? leftPart : ''}`;
        break;
      case 'started':
        this.line.textContent = `${event.method} on ${event.model}: started`;
        break;
      case 'step':
        this.chart.addPoint('train', event.step, event.loss);
        this.line.textContent = `${started ? `${started.method} on ${started.model}: ` : ''}step ${event.step}${total}, loss ${num(event.loss)}${leftPart}`;
        break;
      case 'eval':
        this.chart.addPoint('eval', event.step, event.eval_loss);
        break;
      case 'done':
        this.line.textContent = `finished after ${store.steps.length} steps${store.steps.length ? `, loss ${num(store.steps[store.steps.length - 1].loss)}` : ''}`;
        break;
      case 'failed':
        this.line.textContent = `failed: ${event.error}`;
        break;
      case 'cancelled':
        this.line.textContent = 'cancelled';
        break;
      default:
        break;
    }
    this.line.dataset.state = store.terminal ? store.terminal.type : event.type;
  }
}

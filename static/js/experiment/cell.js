// The student's cell of the class experiment: which setting and seed they run, their prediction
// first (a labelled radio group, native keyboard use), then Start (disabled until they predicted).
// Their run then plays in the lesson's live panel like any run. The server keeps the cell, so a
// reload shows the same cell, prediction and job.
import { h, nextId } from '../dom.js';
import { setParams } from '../url.js';
import { experiments } from './endpoints.js';
import { chosenOf, predictionOf, settingText } from './prediction.js';

// Tells the live panel to follow a job (it listens once mounted; else it reads ?job when it mounts).
export function watchInPanel(jobId, { scroll = true } = {}) {
  setParams({ job: jobId });
  window.dispatchEvent(new CustomEvent('ftlab:follow-job', { detail: { jobId } }));
  if (scroll) document.getElementById('widget-live-panel')?.scrollIntoView({ block: 'start' });
}

const signatureOf = (cell) => JSON.stringify([cell.cell_id, cell.value, cell.seed, chosenOf(cell), cell.job_id]);

export class CellPanel {
  constructor(container, { code, info, onCell = () => {} }) {
    this.code = code;
    this.info = info;
    this.onCell = onCell;
    this.root = h('div', { class: 'cell-panel', 'data-cell-panel': '' });
    container.append(this.root);
    this.cell = null;
  }

  async load() {
    try {
      this.show(await experiments.cell(this.code, this.info.id));
    } catch (err) {
      this.root.replaceChildren(h('p', { class: 'error' }, `Your cell could not load: ${err.message}`));
    }
  }

  show(cell) {
    // Rebuilt only when the cell changed (a class message reloads it): focus and words stay put.
    const signature = signatureOf(cell);
    const same = signature === this.signature;
    this.signature = signature;
    this.cell = cell;
    this.onCell(cell);
    if (same) return;
    const { text, choices } = predictionOf(this.info, cell);
    const chosen = chosenOf(cell);
    const started = Boolean(cell.job_id);
    const name = nextId('prediction');
    const status = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite', 'data-cell-status': '' });
    const start = h('button', { type: 'button', class: 'primary', 'data-cell-start': '', disabled: started || !chosen }, started ? 'Started' : 'Start my run');
    const hint = h('p', { class: 'muted', id: nextId('start-hint') }, started ? '' : 'Predict first: Start opens once your prediction is saved.');
    start.setAttribute('aria-describedby', hint.id);
    const group = h('fieldset', { class: 'prediction', 'data-prediction': '' },
      h('legend', {}, `Your prediction: ${text}`),
      choices.map((c) => h('label', { class: 'choice-row' },
        h('input', { type: 'radio', name, value: c.id, checked: c.id === chosen, disabled: started }), ' ', c.text)));
    group.addEventListener('change', (e) => this.predict(e.target.value, { start, status, hint }));
    start.addEventListener('click', () => this.start({ start, status }));
    this.root.replaceChildren(
      h('p', { class: 'cell-setting', 'data-cell': cell.cell_id }, 'Your cell: ',
        h('strong', { 'data-cell-setting': '' }, settingText(this.info.variable, cell)), `, seed ${cell.seed}`),
      group, h('div', { class: 'panel-actions' }, start), hint, status);
    if (!choices.length) status.textContent = 'This experiment asks no prediction: start when ready.';
    if (!choices.length && !started) start.disabled = false;
    if (started) {
      status.textContent = `Your run is job ${cell.job_id}: it plays in the live panel.`;
      status.append(' ', h('button', { type: 'button', class: 'link-button', onclick: () => watchInPanel(cell.job_id) }, 'Watch it'));
    }
  }

  async predict(choice, { start, status, hint }) {
    status.textContent = 'Saving your prediction…';
    try {
      await experiments.predict(this.code, this.info.id, choice);
      this.cell = { ...this.cell, prediction: choice };
      this.signature = signatureOf(this.cell);
      status.textContent = 'Prediction saved. Start your run when ready.';
      start.disabled = false;
      hint.textContent = '';
    } catch (err) {
      status.textContent = `Your prediction was not saved: ${err.message}`;
    }
  }

  async start({ start, status }) {
    start.disabled = true;
    status.textContent = 'Starting your run…';
    try {
      const { job_id: jobId } = await experiments.startCell(this.code, this.info.id);
      this.show({ ...this.cell, job_id: jobId });
      watchInPanel(jobId);
    } catch (err) {
      start.disabled = false;
      status.textContent = `Your run did not start: ${err.message}`;
    }
  }
}

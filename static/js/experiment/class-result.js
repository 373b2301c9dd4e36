// The class result view, the same on the dashboard, the presenter view, each student's page and the
// solo learner's recorded result: a measure picker, the plot (charts/experiment.js) and the numbers
// per value as a table. refresh() re-reads the results; callers call it on each class-channel message.
import { h, nextId } from '../dom.js';
import { ExperimentChart } from '../charts/experiment.js';
import { experiments, measuresOf } from './endpoints.js';
import { fmt, measureLabel, shapeResults } from './results-data.js';

export class ClassResult {
  // info: {id, variable, values, measures, question}; code: the class (null for a recorded result).
  constructor(container, { info, code = null, own = null, height = 360, fontSize = null, title = 'What the class measured', onResults = () => {} }) {
    this.info = info;
    this.onResults = onResults;
    this.code = code;
    const measures = measuresOf(info, null);
    this.picker = h('select', { id: nextId('measure'), 'data-measure': '' });
    this.fillMeasures(measures);
    this.status = h('p', { class: 'muted', role: 'status', 'data-result-status': '' });
    this.table = h('tbody');
    this.root = h('div', { class: 'class-result', 'data-class-result': info.id ?? '' },
      h('h3', {}, title),
      info.question ? h('p', { class: 'result-question' }, info.question) : null,
      h('div', { class: 'field inline' }, h('label', { for: this.picker.id }, 'Measure'), ' ', this.picker),
    );
    container.append(this.root);
    this.chart = new ExperimentChart(this.root, {
      variable: info.variable || 'setting', values: info.values || [], measure: this.picker.value || 'eval_loss',
      own, height, fontSize, label: `${title}: ${info.question || info.variable || ''}`.trim(),
    });
    this.root.append(this.status, h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': 'Class result per value' },
      h('table', { class: 'data-table' },
        h('caption', { class: 'visually-hidden' }, 'Class result per value'),
        h('thead', {}, h('tr', {}, ['value', 'finished runs', 'mean', 'min', 'max', 'failed or cancelled'].map((t) => h('th', { scope: 'col' }, t)))),
        this.table)));
    this.picker.addEventListener('change', () => {
      this.chart.setMeasure(this.picker.value);
      this.renderTable();
    });
    this.pending = null;
    this.again = false;
  }

  fillMeasures(measures) {
    const keep = this.picker.value || this.info.primary;
    if (measures.join() === [...this.picker.options].map((o) => o.value).join()) return;
    this.picker.replaceChildren(...measures.map((m) => h('option', { value: m, selected: m === keep }, measureLabel(m))));
  }

  // results: the API's answer (or a recorded one, same shape).
  update(results) {
    this.results = results;
    this.fillMeasures(measuresOf(this.info, results));
    if (this.picker.value && this.picker.value !== this.chart.measure) this.chart.measure = this.picker.value;
    this.chart.setRuns(results.runs || []);
    this.renderTable();
    const finished = (results.runs || []).filter((r) => r.state === 'done').length;
    this.root.dataset.finished = String(finished);
    this.status.textContent = results.state === 'complete'
      ? `Complete: ${finished} run(s) finished.`
      : `${finished} of ${(results.runs || []).length} run(s) finished.`;
    this.onResults(results);
  }

  renderTable() {
    const s = shapeResults({ runs: this.results?.runs || [] }, {
      measure: this.chart.measure, variable: this.chart.variable, values: this.chart.values, own: this.chart.own,
    });
    const rows = [];
    for (const series of s.series) {
      for (const key of s.keys) {
        const g = s.groups.find((x) => x.key === key && x.series === series);
        const lost = s.missing.filter((m) => m.key === key && m.series === series && m.state !== 'done').length;
        if (series && !g && !lost) continue; // a series need not run every value
        rows.push(h('tr', {}, h('th', { scope: 'row' }, `${series ? `${series}, ` : ''}${s.variable || 'setting'} ${key}`),
          h('td', {}, String(g ? g.n : 0)), h('td', {}, g ? fmt(g.mean) : '–'),
          h('td', {}, g ? fmt(g.min) : '–'), h('td', {}, g ? fmt(g.max) : '–'), h('td', {}, String(lost))));
      }
    }
    this.table.replaceChildren(...rows);
  }

  setOwn(own) {
    this.chart.setOwn(own);
    this.renderTable();
  }

  // Re-reads the class's results; calls that arrive while one is in flight fold into one more read.
  async refresh() {
    if (!this.code) return;
    if (this.pending) {
      this.again = true;
      return;
    }
    this.pending = experiments.results(this.code, this.info.id)
      .then((results) => this.update(results))
      .catch((err) => {
        this.status.textContent = `The results could not load: ${err.message}`;
      });
    await this.pending;
    this.pending = null;
    if (this.again) {
      this.again = false;
      await this.refresh();
    }
  }

  download() {
    return this.chart.download();
  }
}

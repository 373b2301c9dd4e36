// The lesson page's part of class experiments. A student whose class runs an experiment gets a
// section at the top: their cell (setting, seed, prediction, Start) and the class result, live from
// the class channel. Anyone else gets, where a preset's section raises its question, the recorded
// class result with a cell of their own to run beside it (solo.js).
import { h } from '../dom.js';
import { request } from '../api.js';
import { getParam } from '../url.js';
import { CellPanel, watchInPanel } from './cell.js';
import { ClassResult } from './class-result.js';
import { experimentIdOf, experiments, isExperimentMessage } from './endpoints.js';
import { experimentInfo } from './info.js';
import { predictionOf } from './prediction.js';
import { renderPredictions } from './predictions.js';


class ClassExperiment {
  constructor(code) {
    this.code = code;
    this.id = null;
    this.section = null;
  }

  async show(id, ...sources) {
    if (id == null || id === this.id) return;
    this.id = id;
    const given = sources.find((s) => s?.results)?.results;
    const results = given ?? await experiments.results(this.code, id).catch(() => null);
    const info = await experimentInfo(id, results, ...sources);
    if (this.id !== id) return; // a newer experiment arrived meanwhile
    this.section?.remove();
    const body = h('div', { class: 'experiment-body' });
    this.section = h('section', { id: 'class-experiment', class: 'lesson-section class-experiment', 'aria-labelledby': 'h-class-experiment' },
      h('h2', { id: 'h-class-experiment' }, 'Your class experiment'),
      info.question ? h('p', { class: 'lede' }, info.question) : null,
      h('p', { class: 'muted' }, 'Everyone in the class runs one cell of the same experiment; the plot below fills in as runs finish.'),
      body);
    const intro = document.querySelector('.lesson-intro');
    if (intro) intro.after(this.section);
    else document.querySelector('main')?.prepend(this.section);
    const cellBox = h('div');
    const resultBox = h('div');
    const mine = h('p', { class: 'status-line', 'data-my-prediction': '' });
    const room = h('div');
    body.append(cellBox, resultBox, h('h3', {}, 'Predictions'), mine, room);
    this.result = new ClassResult(resultBox, {
      info, code: this.code, title: 'What the class measured',
      onResults: (r) => {
        renderPredictions(room, r.predictions, predictionOf(info).choices);
        const p = r.predictions || {};
        const chosen = predictionOf(info).choices.find((c) => c.id === p.mine);
        mine.textContent = !chosen ? '' : p.mine_right == null ? `You predicted: ${chosen.text}.`
          : `You predicted: ${chosen.text}. The class's measurement says you were ${p.mine_right ? 'right' : 'wrong'}.`;
      },
    });
    if (results) this.result.update(results);
    this.result.refresh(); // what changed while the section was being built
    this.cell = new CellPanel(cellBox, {
      code: this.code, info,
      onCell: (cell) => {
        this.result.setOwn({ cellId: cell.cell_id, jobId: cell.job_id ?? null });
        // Back on the page after a reload: the panel plays the student's run unless another is asked.
        if (cell.job_id && !getParam('job')) watchInPanel(cell.job_id, { scroll: false });
      },
    });
    await this.cell.load();
  }

  // The class's latest experiment, if it has one.
  async discover() {
    const made = await experiments.list(this.code).catch(() => []);
    if (made.length) await this.show(made[made.length - 1].id, made[made.length - 1]);
  }

  onMessage(data) {
    const id = experimentIdOf(data);
    // Another experiment than the one shown (the socket sends each of the class's on connect): the
    // class's latest is the one to show.
    if (id != null && id !== this.id) {
      this.discover();
      return;
    }
    if (this.id != null && isExperimentMessage(data) && this.cell) {
      // The message carries the results as this student may see them (their run marked).
      if (data.results) this.result.update(data.results);
      else this.result.refresh();
      // The instructor may have started or reassigned this student's cell.
      if (!this.cell.cell?.job_id) this.cell.load();
    }
  }
}

async function start() {
  let me;
  try {
    me = await request('GET', '/api/auth/me');
  } catch {
    return;
  }
  const state = me.student;
  if (!state) {
    const { mountSolo } = await import('./solo.js');
    await mountSolo();
    return;
  }
  const room = new ClassExperiment(state.code);
  window.addEventListener('ftlab:class-message', (e) => room.onMessage(e.detail));
  const id = experimentIdOf(state);
  if (id != null) await room.show(id, state);
  else await room.discover();
}

// The page says when the experiment figures are in place (they arrive after the widgets' slots):
// "placed", or "failed" with the reason in the console.
start()
  .then(() => { document.documentElement.dataset.experiments = 'placed'; })
  .catch((err) => {
    document.documentElement.dataset.experiments = 'failed';
    console.warn(err);
  });

// Will this run finish inside the server's time limit? The panel's estimate, from the events the
// run has sent (their `time` is the server's clock), and the advice shown when it will not.
import { h } from './dom.js';
import { seconds } from './format.js';

// What each loading stage is doing, in words a student can read while waiting.
const STAGES = {
  task: 'Reading the task',
  model: 'Loading the model',
  tokenizer: 'Loading the tokenizer',
  quantising: 'Quantising the base to 4 bits',
  'base samples': "Writing the base model's answers (to compare with after training)",
  'step-0 evaluation': 'Measuring the held-out loss before training',
  'tuned samples': "Writing the tuned model's answers",
};

export function stageText(stage) {
  return STAGES[stage] || `Loading ${stage}`;
}

// Seconds the whole run will take (from its first event), or null before its first step: the
// time spent so far plus the steps left at the pace measured.
export function projectedRun(runStart, step) {
  if (runStart == null || !step) return null;
  return Math.max(0, step.time - runStart) + step.eta_s;
}

// How many steps fit in the limit at this pace, keeping a tenth of it for the answers at the end.
export function stepsThatFit(limit, spentBeforeSteps, secondsPerStep) {
  if (!(secondsPerStep > 0)) return null;
  return Math.max(1, Math.floor((0.9 * limit - spentBeforeSteps) / secondsPerStep));
}

// The warning shown while a run is likely to pass the limit, with the ways out: fewer steps (a
// number that fits) or the recorded run. (No smaller trained model of the same kind ships:
// SmolLM2-135M is the smallest chat model, MiniLM the smallest encoder.) Updated in place as the
// estimate moves, so a keyboard user's focus on one of its buttons is never lost.
export class LimitWarning {
  constructor({ onSteps, onRecorded }) {
    this.text = h('span');
    this.fewer = h('button', { type: 'button', hidden: true, onclick: () => onSteps(this.fit) });
    this.el = h('div', { class: 'eta-warning', role: 'alert' },
      h('p', {}, h('strong', {}, 'This run may not finish. '), this.text),
      h('div', { class: 'eta-fixes' }, this.fewer,
        h('button', { type: 'button', onclick: onRecorded }, 'Watch the recorded run instead')));
  }

  update({ limit, projected, fitSteps, queued }) {
    const when = queued ? 'is estimated to need' : 'is on course to need';
    this.text.textContent = `It ${when} about ${seconds(projected)}, and the server stops every job at ${seconds(limit)}.`;
    this.fit = fitSteps;
    this.fewer.hidden = !fitSteps;
    if (fitSteps) this.fewer.textContent = `Use ${fitSteps} steps`;
  }
}

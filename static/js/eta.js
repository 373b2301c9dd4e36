// Will this run finish inside the server's time limit? The advice shown when it will not (the
// estimate itself is run-clock.js's, from the run's own events).
import { h } from './dom.js';
import { seconds } from './format.js';

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

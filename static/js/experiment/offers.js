// What the server's 422 offers when an experiment cannot be made (the detail's ctx.offers): the
// planner's budget_s, runs, workers, models when it does not fit its budget, or the class's limits
// with the grid's methods and models added (allow: their names) when the class does not allow
// them; turned into one-click alternatives.
import { h } from '../dom.js';

export const MAX_BUDGET_S = 7200; // the form's (and ExperimentSpec's) limit

export function offersOf(err) {
  const detail = err?.detail;
  const items = Array.isArray(detail) ? detail : [];
  return items.find((item) => item?.ctx?.offers)?.ctx.offers ?? null;
}

// The request bodies each offer would send: a larger budget (within the limit), or, for a custom
// experiment, the same grid on a smaller model. Fewer runs is the instructor's call (which values?).
// A limits offer also carries the class limits to PUT before the same body is sent again.
export function offerChoices(offers, body) {
  if (!offers) return [];
  const choices = [];
  if (offers.limits) {
    const what = offers.allow?.length ? offers.allow.join(', ') : 'them';
    choices.push({ label: `Allow ${what} in this class and plan again`, limits: offers.limits, body });
  }
  if (offers.budget_s && offers.budget_s <= MAX_BUDGET_S) {
    choices.push({ label: `Plan with a budget of ${offers.budget_s} s`, body: { ...body, budget_s: offers.budget_s } });
  }
  if (body.fixed) {
    for (const model of offers.models || []) {
      choices.push({ label: `Plan it on ${model}`, body: { ...body, fixed: { ...body.fixed, model } } });
    }
  }
  return choices;
}

// onPick(body, limits): limits is set for a limits offer (PUT them, then send body).
export function offerButtons(offers, body, onPick) {
  const choices = offerChoices(offers, body);
  if (!choices.length) return null;
  return h('p', { class: 'panel-actions', 'data-plan-offers': '' }, choices.flatMap((choice) => {
    const button = h('button', { type: 'button' }, choice.label);
    button.addEventListener('click', () => onPick(choice.body, choice.limits ?? null));
    return [button, ' '];
  }));
}

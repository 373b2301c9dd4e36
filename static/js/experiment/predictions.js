// How the room predicted against what the class measured, from the results' "predictions" field:
// each choice with its count, the one the measurement bore out, and the measured numbers.
import { h } from '../dom.js';

// Accepts {choices: [{id, text, count, correct}]} or {counts: {id: n}, correct|outcome: id}.
export function predictionRows(predictions, choices = []) {
  if (!predictions) return [];
  const texts = new Map(choices.map((c) => [c.id, c.text]));
  const right = predictions.correct ?? predictions.outcome ?? predictions.answer ?? null;
  if (Array.isArray(predictions.choices)) {
    return predictions.choices.map((c) => ({
      id: String(c.id), text: c.text ?? texts.get(String(c.id)) ?? String(c.id), count: c.count ?? 0,
      correct: c.correct ?? (right != null ? String(c.id) === String(right) : null),
    }));
  }
  const counts = predictions.counts ?? {};
  const ids = [...new Set([...choices.map((c) => c.id), ...Object.keys(counts)])];
  return ids.map((id) => ({
    id, text: texts.get(id) ?? id, count: counts[id] ?? 0, correct: right != null ? id === String(right) : null,
  }));
}

export function renderPredictions(el, predictions, choices) {
  const rows = predictionRows(predictions, choices);
  if (!rows.length) {
    el.replaceChildren(h('p', { class: 'muted' }, 'No predictions yet.'));
    return;
  }
  const total = rows.reduce((n, r) => n + r.count, 0);
  const graded = rows.some((r) => r.correct != null);
  const explanation = predictions.explanation ? [h('p', { class: 'prediction-explanation' }, predictions.explanation)] : [];
  el.replaceChildren(
    h('table', { class: 'data-table', 'data-predictions': '' },
      h('caption', {}, graded ? 'How the room predicted, against what it measured' : 'How the room predicted (graded when the experiment completes)'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'prediction'), h('th', { scope: 'col' }, 'students'),
        graded ? h('th', { scope: 'col' }, 'the measurement says') : null)),
      h('tbody', {}, rows.map((r) => h('tr', {}, h('th', { scope: 'row' }, r.text),
        h('td', {}, `${r.count}${total ? ` (${Math.round((100 * r.count) / total)}%)` : ''}`),
        graded ? h('td', {}, r.correct ? 'right' : 'wrong') : null)))),
    ...explanation); // replaceChildren would write a null as the text "null"
}

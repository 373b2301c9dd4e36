// Renders one dashboard snapshot into the page. Every name and text goes in as text nodes.
import { h } from '../dom.js';

const pct = (x) => (x == null ? '–' : `${Math.round(x * 100)}%`);

export function renderRoster(el, countEl, students, { onRemove = null } = {}) {
  countEl.textContent = String(students.length);
  el.replaceChildren(...students.map((s) => {
    const item = h('li', {
      class: 'student',
      'data-member': s.id,
      title: `${s.answered} answered, ${s.correct} correct, ${s.runs} run(s)`,
    }, h('span', { class: 'student-name' }, s.name),
    // The score in view (not only in the tooltip): right answers of those given.
    h('span', { class: 'student-score', 'data-score': '' }, ` ${s.correct}/${s.answered}`));
    if (onRemove) {
      item.append(h('button', {
        type: 'button', class: 'remove-member', 'aria-label': `Remove ${s.name}`, onclick: () => onRemove(s),
      }, '×'));
    }
    return item;
  }));
}

// Questions in lesson order, or (hardestFirst, the presenter's view) the least often right first,
// unanswered ones last; each keeps its number in the lesson.
export function orderQuestions(questions, hardestFirst) {
  const numbered = questions.map((q, i) => [q, i]);
  if (!hardestFirst) return numbered;
  const key = ([q]) => (q.answered ? q.share_correct ?? 0 : 2);
  return numbered.sort((a, b) => key(a) - key(b) || a[1] - b[1]);
}

export function renderQuestions(el, countEl, questions, { onReset = null, students = null, hardestFirst = false } = {}) {
  countEl.textContent = String(questions.reduce((n, q) => n + q.answered, 0));
  el.replaceChildren(...orderQuestions(questions, hardestFirst).map(([q, i]) => {
    const share = q.share_correct ?? 0;
    const bar = h('div', { class: 'bar', role: 'img', 'aria-label': `${pct(q.share_correct)} correct` },
      h('span', { class: 'bar-fill', style: `width: ${Math.round(share * 100)}%` }));
    const wrong = q.top_wrong
      ? h('p', { class: 'top-wrong' }, 'Most chosen wrong answer: ', h('em', {}, q.top_wrong.text), ` (${q.top_wrong.count})`)
      : h('p', { class: 'top-wrong muted' }, q.answered ? 'No wrong answers.' : 'No answers yet.');
    const card = h('article', { class: 'question-card', 'data-question': q.id },
      h('h3', {}, `${i + 1}. ${q.text}`),
      h('p', { class: 'question-numbers' },
        h('span', { 'data-answered': '' }, String(q.answered)), students != null ? ` of ${students} answered · ` : ' answered · ',
        h('span', { 'data-share': '' }, pct(q.share_correct)), ' correct'),
      bar, wrong);
    if (onReset) {
      card.append(h('button', { type: 'button', class: 'link-button', onclick: () => onReset(q) }, 'Reset this question'));
    }
    return card;
  }));
}

export function renderRuns(el, runs, { onPin = null, pinnedId = null } = {}) {
  if (!runs.length) {
    el.replaceChildren(h('tr', {}, h('td', { colspan: 7 }, 'No runs yet.')));
    return;
  }
  el.replaceChildren(...runs.map((r) => {
    let state = r.state;
    if (r.state === 'queued' && r.queue_position != null) state += ` (${r.queue_position} ahead)`;
    const action = onPin
      ? h('button', { type: 'button', class: 'link-button', onclick: () => onPin(r.pinned ? null : r.job_id) },
        r.pinned ? 'Unpin' : 'Pin')
      : (r.job_id === pinnedId ? h('span', { class: 'badge live' }, 'pinned') : '');
    return h('tr', { 'data-job': r.job_id, class: r.pinned ? 'is-pinned' : '' },
      h('td', {}, r.who), h('td', {}, r.model), h('td', {}, r.method), h('td', {}, r.task),
      h('td', {}, r.steps == null ? 'default' : String(r.steps)), h('td', {}, state), h('td', {}, action));
  }));
}

// Fills the limits form from the class's limits (skipped while the instructor is editing it).
export function fillLimits(form, limits) {
  if (!form || form.contains(document.activeElement)) return;
  form.students_can_train.checked = limits.students_can_train;
  form.allowed_models.value = limits.allowed_models.join(', ');
  form.allowed_methods.value = limits.allowed_methods.join(', ');
  for (const key of ['max_steps', 'max_active_jobs', 'max_submissions', 'window_s']) form[key].value = limits[key];
}

export function readLimits(form) {
  const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);
  return {
    students_can_train: form.students_can_train.checked,
    allowed_models: list(form.allowed_models.value),
    allowed_methods: list(form.allowed_methods.value),
    max_steps: Number(form.max_steps.value),
    max_active_jobs: Number(form.max_active_jobs.value),
    max_submissions: Number(form.max_submissions.value),
    window_s: Number(form.window_s.value),
  };
}

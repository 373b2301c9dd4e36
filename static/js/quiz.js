// The quiz: questions from the server (no answers in them), graded by the server, with each
// question's explanation and a link back to its section. Retry clears the answers. After the
// student's own run finishes, a second short quiz asks about that run (computed from its events).
import { h } from './dom.js';
import { api } from './api.js';

export async function mount(container, slug) {
  let quiz;
  try {
    quiz = await api.quiz(slug);
  } catch (err) {
    container.replaceChildren(h('p', { class: 'error' }, `The quiz could not load: ${err.message}`));
    return;
  }
  const questions = quiz.questions || [];
  const own = h('div', { class: 'own-run-quiz' });
  container.replaceChildren(
    h('p', {}, `${questions.length} questions. Answer what you can, then check.`),
    quizForm(questions, 'q', (answers) => api.answer(slug, answers)),
    own,
  );

  // Questions about the student's own run: when a live run on this page finishes (the panel marks it on
  // the document too, for a quiz that mounts after the run ended). A run still going is never asked
  // about, so the server's 409 for an unfinished run is not met here.
  let offered = null;
  async function offer(jobId) {
    if (!jobId || jobId === offered) return;
    let ownQuiz;
    try {
      ownQuiz = await api.ownRunQuiz(slug, jobId);
    } catch {
      return; // not finished, or not this student's run: nothing to ask yet
    }
    offered = jobId;
    own.replaceChildren(
      h('h3', {}, 'About your own run'),
      h('p', {}, `${ownQuiz.questions.length} questions computed from your run ${jobId}: the server grades them from its recorded events.`),
      quizForm(ownQuiz.questions, 'own', (answers) => api.answerOwnRun(slug, jobId, answers)),
    );
  }
  window.addEventListener('ftlab:run-done', (e) => offer(e.detail?.jobId));
  offer(document.documentElement.dataset.runDone);
}

// One form of questions: radio groups, a check button, the server's grading shown per question.
function quizForm(questions, prefix, grade) {
  const form = h('form', { class: 'quiz-form', novalidate: true, 'data-quiz-form': prefix });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Check my answers');
  const retry = h('button', { type: 'button', hidden: true }, 'Try again');
  // The score sits where focus lands after checking (the screen reader reads it there too).
  const score = h('p', { class: 'score', role: 'status', 'aria-live': 'polite', tabindex: '-1' });
  const resultEls = {};
  const name = (q) => `${prefix}-${q.id}`;

  questions.forEach((q, n) => {
    const set = h('fieldset', { 'data-question': q.id },
      h('legend', {}, `${n + 1}. ${q.text}`),
      (q.choices || []).map((c) => h('label', {},
        h('input', { type: 'radio', name: name(q), value: c.id }), ' ', c.text)));
    resultEls[q.id] = h('div', { class: 'result', hidden: true });
    set.append(resultEls[q.id]);
    form.append(set);
  });
  form.append(score, h('div', { class: 'panel-actions' }, submit, retry));

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const answers = {};
    for (const q of questions) {
      const chosen = form.querySelector(`input[name="${CSS.escape(name(q))}"]:checked`);
      if (chosen) answers[q.id] = chosen.value;
    }
    submit.disabled = true;
    try {
      show(await grade(answers));
    } catch (err) {
      score.textContent = `Could not check the answers: ${err.message}`;
      submit.disabled = false;
    }
  });

  function show(result) {
    const skipped = (result.results || []).filter((r) => !r.answered).length;
    score.textContent = `You got ${result.score} of ${result.total}${skipped ? ` (${skipped} skipped)` : ''}. ` +
      'Each question now says why; Try again clears the answers.';
    for (const r of result.results || []) {
      const el = resultEls[r.id];
      if (!el) continue;
      const right = questions.find((q) => q.id === r.id)?.choices.find((c) => c.id === r.answer);
      el.hidden = false;
      el.className = `result ${r.correct ? 'correct' : r.answered ? 'wrong' : 'skipped'}`;
      // Built through h(), which drops absent parts: replaceChildren itself would print null as text.
      el.replaceChildren(h('p', {},
        h('strong', {}, r.correct ? '✓ Correct. ' : r.answered ? '✗ Not quite. ' : '– Skipped. '),
        !r.correct && right ? h('span', {}, 'The answer: ', h('strong', { class: 'right-answer' }, right.text.replace(/\.$/, '')), '. ') : null,
        r.explanation || '',
        r.section ? h('span', {}, ' ', h('a', { href: `#${r.section}` }, 'Read the section again')) : null,
      ));
      // The right choice is marked in the list as well as named.
      for (const label of form.querySelectorAll(`fieldset[data-question="${CSS.escape(r.id)}"] label`)) {
        label.classList.toggle('is-answer', label.querySelector('input')?.value === r.answer);
      }
    }
    for (const input of form.querySelectorAll('input')) input.disabled = true;
    retry.hidden = false;
    score.focus();
  }

  retry.addEventListener('click', () => {
    form.reset();
    for (const input of form.querySelectorAll('input')) input.disabled = false;
    for (const el of Object.values(resultEls)) el.hidden = true;
    for (const label of form.querySelectorAll('label.is-answer')) label.classList.remove('is-answer');
    score.textContent = '';
    submit.disabled = false;
    retry.hidden = true;
    form.querySelector('input')?.focus();
  });
  return form;
}

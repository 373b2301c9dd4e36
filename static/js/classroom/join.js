// /join: a class code and a nickname; the server answers with a signed cookie, then the lesson.
import { request } from '../api.js';

const form = document.getElementById('join-form');
const status = document.getElementById('join-status');

function showErrors(fields) {
  for (const el of form.querySelectorAll('[data-error-for]')) el.textContent = fields[el.dataset.errorFor] || '';
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const code = form.code.value.replace(/[\s-]/g, '').toUpperCase();
  const nickname = form.nickname.value.trim();
  const missing = {};
  if (!/^[A-Z0-9]{4,12}$/.test(code)) missing.code = 'the code is 4 to 12 letters and digits';
  if (!nickname) missing.nickname = 'pick a nickname';
  showErrors(missing);
  if (Object.keys(missing).length) return;
  status.textContent = 'Joining…';
  try {
    const state = await request('POST', `/api/classes/${encodeURIComponent(code)}/join`, { nickname });
    status.textContent = `Joined ${state.title} as ${state.me.nickname}.`;
    location.assign(`/lessons/${encodeURIComponent(state.lesson)}`);
  } catch (err) {
    if (err.status === 404) showErrors({ code: 'no class has that code' });
    else if (err.status === 409) showErrors({ nickname: err.message });
    else if (err.status === 422) showErrors(err.fields);
    status.textContent = err.status === 422 ? 'Please fix the field marked.' : err.message;
  }
});

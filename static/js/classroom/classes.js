// /classes: open a new class; the list shows opening times in the browser's time zone.
import { request } from '../api.js';

for (const el of document.querySelectorAll('time[data-unix]')) {
  el.textContent = new Date(Number(el.dataset.unix) * 1000).toLocaleString();
}

const form = document.getElementById('new-class');
const status = document.getElementById('new-class-status');
form.addEventListener('submit', async (e) => {
  e.preventDefault();
  status.textContent = 'Opening…';
  try {
    const info = await request('POST', '/api/classes', {
      title: form.title.value.trim() || 'Class',
      anonymous: form.anonymous.checked,
    });
    location.assign(`/classes/${encodeURIComponent(info.code)}`);
  } catch (err) {
    status.textContent = err.message;
  }
});

// /login: trade the instructor token for a login cookie, then go where the instructor was headed.
import { request } from '../api.js';

const form = document.getElementById('login-form');
const status = document.getElementById('login-status');

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  status.textContent = 'Checking…';
  try {
    await request('POST', '/api/auth/login', { token: form.token.value.trim() });
    location.assign(form.dataset.next || '/classes');
  } catch (err) {
    status.textContent = err.message;
  }
});

// The class banner on every page of a student who joined a class: which class, who they are, and
// the instructor's pinned run, live. Pin changes arrive on the class socket.
import { h } from '../dom.js';
import { request } from '../api.js';
import { ClassSocket } from './socket.js';
import { PinnedRun } from './pinned.js';

async function start() {
  const slot = document.getElementById('class-banner');
  if (!slot || document.body.classList.contains('presenter')) return;
  let state;
  try {
    state = (await request('GET', '/api/auth/me')).student; // always 200: no console noise for visitors
  } catch {
    return;
  }
  if (!state) return; // not in a class: the banner stays hidden
  const who = h('span', { class: 'banner-who' });
  const note = h('span', { class: 'banner-note', role: 'status' });
  const leave = h('button', { type: 'button', class: 'link-button' }, 'Leave');
  // The pinned run folds away: the banner stays one line above the lesson (it sticks under the top bar).
  const runBox = h('div', { class: 'banner-run' });
  const fold = h('details', { class: 'banner-fold' }, h('summary', {}, "The instructor's pinned run"), runBox);
  slot.replaceChildren(h('div', { class: 'banner-line' }, who, ' ', note, ' ', leave, fold));
  slot.hidden = false;
  // Unfolded, the chart takes at most a quarter of the screen: the banner sticks above the lesson.
  const pinned = new PinnedRun(runBox, { height: Math.max(140, Math.min(220, Math.round(window.innerHeight * 0.25))) });
  fold.before(runBox.querySelector('.pinned-head')); // the run's status stays in view; its chart folds

  function apply(next) {
    state = next;
    who.textContent = `Class ${state.code} · ${state.title}${state.me ? ` · you are ${state.me.nickname}` : ''}`;
    note.textContent = state.closed ? 'This class has ended.' : '';
    pinned.show(state.pinned_job_id, state.lesson);
  }
  apply(state);
  const socket = new ClassSocket(`/ws/classes/${encodeURIComponent(state.code)}`, {
    onMessage: (data) => {
      if (data.type === 'class') apply(data);
      // Other parts of the page (the class experiment) hear the same channel.
      window.dispatchEvent(new CustomEvent('ftlab:class-message', { detail: data }));
    },
    onStatus: (status) => {
      if (status === 'class closed') note.textContent = 'This class has ended.';
    },
  });
  socket.open();
  leave.addEventListener('click', async () => {
    await request('POST', '/api/auth/logout?student=true');
    socket.close('left');
    slot.hidden = true;
  });
}

start();

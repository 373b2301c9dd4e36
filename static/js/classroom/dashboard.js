// The instructor's dashboard (and, with ?view=present, the projector view): one class socket
// sends whole snapshots; this module renders them and sends the instructor's actions.
import { h } from '../dom.js';
import { api, request } from '../api.js';
import { ClassSocket } from './socket.js';
import { PinnedRun } from './pinned.js';
import { seconds } from '../format.js';
import { fillLimits, readLimits, renderQuestions, renderRoster, renderRuns } from './dashboard-view.js';

const main = document.querySelector('main.dashboard');
const code = main.dataset.code;
const presenting = main.dataset.view === 'present';
const base = `/api/classes/${encodeURIComponent(code)}`;
const $ = (selector) => main.querySelector(selector);
const connection = $('[data-connection]');
const adminStatus = $('[data-admin-status]');
const limitsForm = $('[data-limits-form]');
const runForm = $('[data-run-form]');

$('[data-join-url]').textContent = `${location.host}/join`;
const pinnedBox = $('[data-pinned]');
pinnedBox.replaceChildren();
// The time limit, stated where the instructor picks the steps.
const limitHint = document.querySelector('[data-limit-hint]');
if (limitHint) {
  request('GET', '/api/health').then((health) => {
    if (health.job_time_limit_s) limitHint.textContent = `Fewer steps finish sooner: the server stops a job after ${seconds(health.job_time_limit_s)}, and on a busy CPU a SmolLM2 step can take several seconds.`;
  }).catch(() => {});
}
// Presenter: chart text at 24 px, readable from the back of a room (the page's body text size); on a
// short screen (1366×768) a shorter chart, so the students and their scores start on the first screen.
const presenterHeight = Math.min(440, Math.max(220, Math.round(window.innerHeight * 0.42)));
const pinned = new PinnedRun(pinnedBox, { height: presenting ? presenterHeight : 300, fontSize: presenting ? 24 : null, title: 'Pinned run' });

function say(text) {
  if (adminStatus) adminStatus.textContent = text;
}

async function act(label, fn) {
  try {
    await fn();
  } catch (err) {
    say(`${label}: ${err.message}`);
  }
}

// Removing a seat stops it at once and cancels its jobs; blocking (the box by the roster) also
// refuses new joins from the address it joined from: behind a school's one address, everyone's.
function removeMember(student) {
  const block = $('[data-block-address]')?.checked ?? false;
  const also = block ? ' and block joins from the address they joined from' : '';
  if (!window.confirm(`Remove ${student.name} from the class${also}? Their seat stops working and their runs are cancelled; their answers stay in the results.`)) return;
  const query = block ? '?block_address=true' : '';
  act('Remove', async () => {
    const result = await request('DELETE', `${base}/members/${encodeURIComponent(student.id)}${query}`);
    const blocked = result.blocked_address ? `; joins from ${result.blocked_address} are blocked` : '';
    say(`Removed ${student.name}: ${result.cancelled_jobs.length} run(s) cancelled${blocked}.`);
  });
}

function render(snapshot) {
  const cls = snapshot.class;
  renderRoster($('[data-roster]'), $('[data-student-count]'), snapshot.students, {
    onRemove: presenting ? null : removeMember,
  });
  renderQuestions($('[data-questions]'), $('[data-answer-count]'), snapshot.questions, {
    hardestFirst: presenting, // the presenter's first look: what the class got wrong most
    students: snapshot.students.length,
    onReset: presenting ? null : (q) => {
      if (!window.confirm(`Clear every answer to "${q.text}"?`)) return;
      act('Reset', () => request('POST', `${base}/questions/${encodeURIComponent(q.id)}/reset`));
    },
  });
  renderRuns($('[data-runs]'), snapshot.runs, {
    pinnedId: cls.pinned_job_id,
    onPin: presenting ? null : (jobId) => act('Pin', () => request('POST', `${base}/pin`, { job_id: jobId })),
  });
  pinned.show(cls.pinned_job_id);
  fillLimits(limitsForm, cls.limits);
  if (cls.closed) {
    connection.textContent = 'This class is closed: students can no longer join or answer.';
    main.classList.add('closed');
  }
  main.dataset.answers = String(snapshot.answers_total);
}

const socket = new ClassSocket(`/ws/classes/${encodeURIComponent(code)}/dashboard`, {
  onMessage: (data) => {
    window.dispatchEvent(new CustomEvent('ftlab:dashboard', { detail: data })); // experiment-admin.js listens too
    if (data.type !== 'dashboard') return;
    render(data);
    if (!data.class.closed) connection.textContent = `Live · ${new Date().toLocaleTimeString()}`;
  },
  onStatus: (status) => {
    if (status === 'refused') connection.textContent = 'Not allowed: log in again at /login.';
    else if (status !== 'live') connection.textContent = status === 'reconnecting' ? 'Reconnecting…' : 'Connecting…';
  },
});
socket.open();

async function fillRunChoices() {
  if (!runForm) return;
  try {
    const [models, methods, tasks] = await Promise.all([api.models(), api.methods(), api.tasks()]);
    const fill = (select, items, chosen) => {
      const names = items.map((x) => (typeof x === 'string' ? x : x.name)).filter(Boolean);
      if (!names.length) return;
      const keep = names.includes(select.value) ? select.value : chosen;
      select.replaceChildren(...names.map((n) => h('option', { value: n, selected: n === keep }, n)));
    };
    fill(runForm.model, models, 'smollm2-135m');
    fill(runForm.method, methods, 'lora');
    fill(runForm.task, tasks, 'tone');
  } catch {
    // the static choices in the page stay
  }
}

if (runForm) {
  fillRunChoices();
  runForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const config = {
      model: runForm.model.value, method: runForm.method.value, task: runForm.task.value,
      steps: Number(runForm.steps.value),
    };
    act('Start', async () => {
      const job = await request('POST', `${base}/runs`, config);
      say(`Started and pinned job ${job.id}.`);
    });
  });
}

if (limitsForm) {
  limitsForm.addEventListener('submit', (e) => {
    e.preventDefault();
    act('Limits', async () => {
      await request('PUT', `${base}/limits`, readLimits(limitsForm));
      say('Limits saved.');
    });
  });
}

$('[data-close-class]')?.addEventListener('click', () => {
  if (!window.confirm(`Close class ${code}? Students can no longer join, answer or train.`)) return;
  act('Close', () => request('POST', `${base}/close`));
});

// Page glue: mounts each widget when its slot nears the viewport (so the text is readable at once
// and plotly loads only when needed), highlights the side nav, and starts the quiz.
const MODULES = {
  'lora-explorer': './lora3d.js',
  'memory-calculator': './memory.js',
  'spectrum-live': './spectrum.js',
  'soft-prompt-3d': './softprompt.js',
  'trainable-share': './trainable3d.js',
  'live-panel': './panel.js',
  compare: './compare.js',
  'adapter-lab': './adapterlab.js',
};

async function mountWidget(slot) {
  if (slot.dataset.mounted) return;
  slot.dataset.mounted = 'pending';
  const body = slot.querySelector('.widget-body');
  const path = MODULES[slot.dataset.widget];
  try {
    if (!path) throw new Error(`unknown widget ${slot.dataset.widget}`);
    const module = await import(path);
    body.replaceChildren();
    await module.mount(body, { slot });
    slot.dataset.mounted = 'yes';
  } catch (err) {
    slot.dataset.mounted = 'failed';
    const p = document.createElement('p');
    p.className = 'error';
    p.textContent = `This figure could not start: ${err.message}`;
    body.replaceChildren(p);
    console.warn(err);
  }
}

// Widgets that near the viewport together mount one after another, yielding to the main thread
// between them, so two plotly figures never build in one long task (a scroll or a key press can run
// in between).
const mountQueue = [];
let draining = false;

function yieldToMain() {
  if (globalThis.scheduler?.yield) return globalThis.scheduler.yield();
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function drainMounts() {
  if (draining) return;
  draining = true;
  try {
    while (mountQueue.length) {
      await mountWidget(mountQueue.shift());
      await yieldToMain();
    }
  } finally {
    draining = false;
  }
}

function queueMount(slot) {
  if (slot.dataset.mounted || mountQueue.includes(slot)) return;
  mountQueue.push(slot);
  drainMounts();
}

function lazyMount(elements, mount) {
  if (!('IntersectionObserver' in window)) {
    elements.forEach(mount);
    return;
  }
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      observer.unobserve(entry.target);
      mount(entry.target);
    }
  }, { rootMargin: '600px 0px' });
  elements.forEach((el) => observer.observe(el));
}

function highlightNav() {
  const links = new Map([...document.querySelectorAll('[data-nav]')].map((a) => [a.dataset.nav, a]));
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (!entry.isIntersecting) continue;
      for (const a of links.values()) a.removeAttribute('aria-current');
      links.get(entry.target.id)?.setAttribute('aria-current', 'true');
    }
  }, { rootMargin: '-20% 0px -70% 0px' });
  document.querySelectorAll('section.lesson-section').forEach((s) => observer.observe(s));
}

// Wide tables scroll inside their own region (not the page), reachable and scrollable by keyboard.
for (const table of document.querySelectorAll('.prose table')) {
  const heads = [...table.querySelectorAll('th')].slice(0, 3).map((th) => th.textContent.trim()).filter(Boolean);
  const wrap = document.createElement('div');
  wrap.className = 'table-wrap';
  wrap.tabIndex = 0;
  wrap.setAttribute('role', 'region');
  wrap.setAttribute('aria-label', `Table: ${heads.join(', ')}${heads.length ? ', …' : ''}`);
  table.replaceWith(wrap);
  wrap.append(table);
}

// A link to a go-deeper fold (or to something inside one) opens it, on arrival and on later clicks.
function openLinkedFold() {
  const target = location.hash.length > 1 ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
  const fold = target?.closest('details.deeper');
  if (fold && !fold.open) {
    fold.open = true;
    target.scrollIntoView();
  }
}
window.addEventListener('hashchange', openLinkedFold);
openLinkedFold();

// The first screen's figure draws at once (a 2D canvas, no plotly).
const hero = document.querySelector('.hero-body');
if (hero) import('./hero.js').then(({ mount }) => mount(hero)).catch((err) => console.warn(err));

const slots = [...document.querySelectorAll('figure.widget[data-widget]')];
// A job in the URL means the student was watching a run: mount the panel now, wherever it is.
if (new URLSearchParams(location.search).has('job')) {
  slots.filter((s) => s.dataset.widget === 'live-panel').forEach(mountWidget);
}
lazyMount(slots, queueMount);
// The quiz mounts at once (one small request): it is in the Tab order without scrolling to it first.
for (const el of document.querySelectorAll('[data-quiz]')) {
  import('./quiz.js').then(({ mount }) => mount(el, el.dataset.quiz));
}
highlightNav();
// The contents fold to one line on narrow screens (they sit above the lesson there) and stay open
// as the side column on wide ones; a jump from the folded list folds it again.
const fold = document.querySelector('.sidenav-fold');
if (fold) {
  const wide = window.matchMedia('(min-width: 901px)');
  const fit = () => { fold.open = wide.matches; };
  fit();
  wide.addEventListener('change', fit);
  fold.addEventListener('click', (e) => {
    if (!wide.matches && e.target.closest('a[data-nav]')) fold.open = false;
  });
}
// A class experiment (a student's cell, the class result) or, for a solo learner, the recorded one.
import('./experiment/lesson-experiment.js').catch((err) => console.warn(err));
// Tests and instructors can ask for every widget at once.
window.ftlabMountAll = () => Promise.all(slots.map(mountWidget));

// The page's current live job, shared by the panel (which starts it) and the spectrum and
// soft-prompt widgets (which show it). Listeners get the JobEvents of each new job.
const target = new EventTarget();
let current = null;

export function setLiveJob(store) {
  current = store;
  target.dispatchEvent(new CustomEvent('job', { detail: store }));
}

export function onLiveJob(fn) {
  const handler = (e) => fn(e.detail);
  target.addEventListener('job', handler);
  if (current) fn(current);
  return () => target.removeEventListener('job', handler);
}

// Projector mode: larger type and thicker lines for a classroom screen; remembered per browser
// and settable from the URL (?projector=1) so an instructor can share the link.
const KEY = 'ftlab-projector';
const button = document.querySelector('.projector-toggle');
const fromUrl = new URLSearchParams(location.search).get('projector');
let on = fromUrl !== null ? fromUrl === '1' : localStorage.getItem(KEY) === '1';

function apply() {
  document.documentElement.classList.toggle('projector', on);
  if (button) button.setAttribute('aria-pressed', String(on));
  window.dispatchEvent(new Event('ftlab:theme')); // charts redraw with projector-sized type
}

if (button) {
  button.addEventListener('click', () => {
    on = !on;
    localStorage.setItem(KEY, on ? '1' : '0');
    apply();
  });
}
apply();

// The sticky bars' height (top bar, plus the class banner when shown) as --sticky-h on <html>, kept
// current as they change (the banner appears, unfolds its chart, or wraps on a narrow screen). The
// stylesheet's scroll-padding-top uses it, so every in-page link and scrollIntoView lands with its
// target below the bars.
const bars = [document.querySelector('.topbar'), document.getElementById('class-banner')].filter(Boolean);

// A page opened at #target jumps before the class banner has appeared (it waits for the server):
// while the student has not scrolled yet, a change of the bars' height lands the target again.
let landing = Boolean(location.hash);
window.addEventListener('wheel', () => { landing = false; }, { once: true, passive: true });
window.addEventListener('keydown', () => { landing = false; }, { once: true });
window.addEventListener('touchstart', () => { landing = false; }, { once: true, passive: true });
setTimeout(() => { landing = false; }, 10_000);

let last = null;
function measure() {
  const height = Math.ceil(bars.reduce((sum, bar) => sum + (bar.hidden ? 0 : bar.getBoundingClientRect().height), 0));
  if (height === last) return;
  last = height;
  document.documentElement.style.setProperty('--sticky-h', `${height}px`);
  if (landing) {
    let target = null;
    try {
      target = document.querySelector(decodeURIComponent(location.hash));
    } catch {
      target = null; // not a selector: nothing to land on
    }
    target?.scrollIntoView();
  }
}

measure();
if ('ResizeObserver' in window) {
  const observer = new ResizeObserver(measure);
  bars.forEach((bar) => observer.observe(bar));
}
// [hidden] gives a zero-size box, which ResizeObserver reports too; attribute changes are cheap to watch.
new MutationObserver(measure).observe(document.getElementById('class-banner') || document.body, { attributes: true, attributeFilter: ['hidden'] });

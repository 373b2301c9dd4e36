// Tiny DOM builder. Text always goes in as text nodes (never innerHTML), so server and
// user text cannot inject markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

let uid = 0;
export function nextId(prefix) {
  uid += 1;
  return `${prefix}-${uid}`;
}

// A labelled range input with its value shown next to it; onInput gets the number.
export function slider({ label, min, max, step = 1, value, format = String, onInput, name }) {
  const id = nextId(name || 'slider');
  const out = h('output', { for: id, class: 'slider-value' }, format(value));
  const input = h('input', { type: 'range', id, name, min, max, step, value });
  input.addEventListener('input', () => {
    const v = Number(input.value);
    out.textContent = format(v);
    onInput(v);
  });
  const wrap = h('div', { class: 'control' }, h('label', { for: id }, label), input, out);
  return {
    el: wrap,
    input,
    set(v) {
      input.value = v;
      out.textContent = format(Number(input.value));
    },
  };
}

// One Tab stop for a row of buttons: Tab reaches the current one (tabindex 0), the arrow keys, Home
// and End move between them, Enter or Space presses. current() names the button Tab should land on.
export function rovingFocus(group, buttons, current = () => buttons[0]) {
  const settle = () => {
    const here = current() || buttons[0];
    for (const b of buttons) b.tabIndex = b === here ? 0 : -1;
  };
  group.addEventListener('keydown', (e) => {
    const at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    const last = buttons.length - 1;
    const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: last }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = buttons[(to + buttons.length) % buttons.length];
    for (const b of buttons) b.tabIndex = b === next ? 0 : -1;
    next.focus();
  });
  group.addEventListener('focusout', (e) => {
    if (!group.contains(e.relatedTarget)) settle(); // leaving the row: Tab comes back to the current one
  });
  settle();
  return settle;
}

// A group of radio-like toggle buttons: one Tab stop (the chosen one); arrow keys move between the
// options, Enter or Space chooses.
export function choice({ label, options, value, onChange }) {
  const group = h('div', { class: 'choice', role: 'group', 'aria-label': `${label} (arrow keys move, Enter chooses)` });
  const pressed = () => buttons.find((b) => b.getAttribute('aria-pressed') === 'true');
  const buttons = options.map(([key, text]) => {
    const b = h('button', { type: 'button', 'data-value': key, 'aria-pressed': String(key === value) }, text);
    b.addEventListener('click', () => {
      for (const other of buttons) other.setAttribute('aria-pressed', String(other === b));
      for (const other of buttons) other.tabIndex = other === b ? 0 : -1;
      onChange(key);
    });
    return b;
  });
  group.append(h('span', { class: 'choice-label' }, label), ...buttons);
  const settle = rovingFocus(group, buttons, pressed);
  return {
    el: group,
    set(key) {
      for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.value === key));
      settle();
    },
  };
}

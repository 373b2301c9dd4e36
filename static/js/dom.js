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

// A group of radio-like toggle buttons (keyboard: Tab to the group, Enter/Space to choose).
export function choice({ label, options, value, onChange }) {
  const group = h('div', { class: 'choice', role: 'group', 'aria-label': label });
  const buttons = options.map(([key, text]) => {
    const b = h('button', { type: 'button', 'data-value': key, 'aria-pressed': String(key === value) }, text);
    b.addEventListener('click', () => {
      for (const other of buttons) other.setAttribute('aria-pressed', String(other === b));
      onChange(key);
    });
    return b;
  });
  group.append(h('span', { class: 'choice-label' }, label), ...buttons);
  return {
    el: group,
    set(key) {
      for (const b of buttons) b.setAttribute('aria-pressed', String(b.dataset.value === key));
    },
  };
}

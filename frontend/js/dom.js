/**
 * DOM helpers: elements from plain data (API text only ever becomes text nodes), focus, announcements.
 */

const PROPS = new Set(['value', 'checked', 'htmlFor', 'disabled']);

/** Create an element: props become attributes (on* become listeners), children strings become text. */
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  setProps(node, props);
  append(node, children);
  return node;
}

/** Create an SVG element with attributes and children. */
export function s(tag, attrs, ...children) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setProps(node, attrs);
  append(node, children);
  return node;
}

/** Apply props to a node; null, undefined and false are skipped. */
function setProps(node, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.setAttribute('class', value);
    else if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (PROPS.has(key)) node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
}

/** Append children (nodes, strings, numbers, nested arrays); empty values are skipped. */
export function append(node, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === '') continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Text that screen readers read but nobody sees. */
export function hidden(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

/** Turn any string into a safe id fragment. */
export function idPart(value) {
  return String(value).replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Replace a node, putting focus back on the element with the same id if it had focus. */
export function replaceKeepingFocus(oldNode, newNode) {
  const active = document.activeElement;
  const id = active && active !== document.body && oldNode.contains(active) ? active.id : '';
  oldNode.replaceWith(newNode);
  if (id) document.getElementById(id)?.focus();
}

/** Say something through the page's polite live region. */
export function announce(text) {
  const live = document.getElementById('live');
  if (!live) return;
  live.textContent = '';
  // A fresh text node after a tick makes screen readers repeat identical messages too.
  window.setTimeout(() => {
    live.textContent = text;
  }, 50);
}

/** Guard a button against double presses while fn runs; the button keeps focus. */
export async function withBusy(button, fn) {
  if (button.dataset.busy) return;
  button.dataset.busy = '1';
  button.setAttribute('aria-disabled', 'true');
  try {
    await fn();
  } finally {
    delete button.dataset.busy;
    button.removeAttribute('aria-disabled');
  }
}

/** Move focus to a node and bring it into view (centred: the sticky save bar must not hide it). */
export function focusAndShow(node) {
  if (!node) return;
  if (!node.hasAttribute('tabindex') && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(node.tagName)) {
    node.setAttribute('tabindex', '-1');
  }
  node.focus({ preventScroll: true });
  const smooth = window.matchMedia('(prefers-reduced-motion: no-preference)').matches;
  node.scrollIntoView({ block: 'center', behavior: smooth ? 'smooth' : 'auto' });
}

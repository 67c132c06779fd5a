/**
 * Form fields: a label, an optional hint and an error line, tied together for screen readers.
 */

import { h } from './dom.js';

/** A labelled input with an optional hint and an error line tied by aria-describedby. */
export function field({ id, label, hint, ...inputProps }) {
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const input = h('input', {
    id,
    name: id,
    'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
    ...inputProps,
  });
  const error = h('p', { id: errorId, class: 'field__error' });
  const wrap = h(
    'div',
    { class: 'field' },
    h('label', { for: id, class: 'field__label' }, label),
    hint && h('p', { id: hintId, class: 'field__hint' }, hint),
    input,
    error,
  );
  return { wrap, input, error };
}

/** Show (or clear, with '') an error under a field. */
export function setFieldError(f, message) {
  f.error.textContent = message || '';
  if (message) f.input.setAttribute('aria-invalid', 'true');
  else f.input.removeAttribute('aria-invalid');
}

/** Tie a form-level message (an alert) to the form's inputs too. */
export function describeBy(fields, node) {
  for (const f of fields) {
    f.input.setAttribute('aria-describedby', `${f.input.getAttribute('aria-describedby')} ${node.id}`.trim());
  }
}

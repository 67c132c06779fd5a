/**
 * #/recovery (ask for a link by e-mail) and #/reset/<token> (set a new password, then sign in).
 */

import { api, loadConfig } from '../api.js';
import { h, withBusy } from '../dom.js';
import { describeBy, field, setFieldError } from '../forms.js';
import { go, viewHeading } from '../router.js';
import { state } from '../session.js';
import { T } from '../texts.js';
import { signedIn } from './signin.js';

/** The e-mail form; the answer is the same whether the e-mail is registered or not. */
export function viewRecovery(root) {
  viewHeading(root, T.recovery.title, h('p', { class: 'lead' }, T.recovery.intro));
  const email = field({
    id: 'recovery-email', label: T.signin.email, type: 'email', autocomplete: 'username',
    inputmode: 'email', autocapitalize: 'off', spellcheck: 'false',
  });
  const message = h('p', { class: 'form-error', id: 'recovery-error', role: 'alert' });
  const done = h('p', { class: 'form-success', id: 'recovery-done', role: 'status' });
  describeBy([email], message);
  const button = h('button', { type: 'submit', class: 'btn btn--primary btn--wide' }, T.recovery.send);
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'page-title' },
    email.wrap, message, button, done);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    withBusy(button, async () => {
      message.textContent = '';
      done.textContent = '';
      setFieldError(email, '');
      try {
        const answer = await api('POST', '/api/auth/recovery', { email: email.input.value.trim() });
        done.textContent = answer.message;
      } catch (err) {
        message.textContent = err.message;
        if (err.status === 400) email.input.setAttribute('aria-invalid', 'true');
      }
    });
  });
  root.append(form, h('p', { class: 'back' }, h('a', { href: '#/signin' }, T.recovery.back)));
}

/** The new-password form of a recovery link; on success the resident is signed in with it. */
export async function viewReset(root, token) {
  viewHeading(root, T.recovery.resetTitle, h('p', { class: 'lead' }, T.recovery.resetIntro));
  const config = await loadConfig();
  const password = field({
    id: 'reset-password', label: T.signin.newPassword, type: 'password', autocomplete: 'new-password',
    hint: T.signin.newPasswordHint(config.password_min_length),
  });
  const message = h('p', { class: 'form-error', id: 'reset-error', role: 'alert' });
  describeBy([password], message);
  const button = h('button', { type: 'submit', class: 'btn btn--primary btn--wide' }, T.recovery.save);
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'page-title' },
    password.wrap, message, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    withBusy(button, () => setPassword(token, password, message));
  });
  root.append(form, h('p', { class: 'back' }, h('a', { href: '#/recovery' }, T.signin.forgot)));
}

async function setPassword(token, password, message) {
  message.textContent = '';
  setFieldError(password, '');
  let changed;
  try {
    changed = await api('POST', '/api/auth/reset', { token, password: password.input.value });
  } catch (err) {
    message.textContent = err.message;
    if (err.code === 'weak_password') password.input.setAttribute('aria-invalid', 'true');
    password.input.focus();
    return;
  }
  try {
    state.session = await api('POST', '/api/auth/signin', { email: changed.email, password: password.input.value });
  } catch {
    // The password is changed all the same: the sign-in page takes it from here.
    state.flash = T.recovery.changedSignIn;
    go('#/signin', true);
    return;
  }
  signedIn(T.recovery.changed);
}

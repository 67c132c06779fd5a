/**
 * #/signin: sign in or sign up; why a session ended, if it did; the other doors (Viber, the phone lines).
 */

import { api, loadConfig } from '../api.js';
import { announce, h, withBusy } from '../dom.js';
import { describeBy, field, setFieldError } from '../forms.js';
import { go, homeHash, viewHeading } from '../router.js';
import { state } from '../session.js';
import { T } from '../texts.js';

/** Sign-in and sign-up forms, and the other ways to hand in readings. */
export async function viewSignin(root) {
  if (state.session) {
    go(homeHash(), true);
    return;
  }
  viewHeading(root, T.signin.title);
  if (state.expired) {
    root.append(h('div', { class: 'notice notice--warn', role: 'alert', id: 'expired' },
      h('p', {}, h('strong', {}, T.expired.title)),
      h('p', {}, state.expired.qr ? T.expired.qr : T.expired.person)));
  }
  root.append(h('p', { class: 'lead' }, T.signin.intro));
  const config = await loadConfig();
  root.append(h('div', { class: 'cards cards--two' }, signinForm('signin', config), signinForm('signup', config)));
  root.append(doors(config));
}

/** One of the two auth forms; mode is "signin" or "signup". */
function signinForm(mode, config) {
  const isUp = mode === 'signup';
  const email = field({
    id: `${mode}-email`, label: T.signin.email, type: 'email', autocomplete: 'username',
    inputmode: 'email', autocapitalize: 'off', spellcheck: 'false',
  });
  const password = field({
    id: `${mode}-password`, label: isUp ? T.signin.newPassword : T.signin.password, type: 'password',
    autocomplete: isUp ? 'new-password' : 'current-password',
    hint: isUp ? T.signin.newPasswordHint(config.password_min_length) : null,
  });
  const formError = h('p', { class: 'form-error', id: `${mode}-form-error`, role: 'alert' });
  describeBy([email, password], formError);
  const button = h('button', { type: 'submit', class: 'btn btn--primary btn--wide' },
    isUp ? T.signin.signupButton : T.signin.signinButton);
  const forgot = !isUp && config.recovery
    ? h('p', { class: 'forgot' }, h('a', { href: '#/recovery', id: 'forgot' }, T.signin.forgot))
    : null;
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': `${mode}-heading` },
    h('h2', { id: `${mode}-heading` }, isUp ? T.signin.signupHeading : T.signin.signinHeading),
    isUp && h('p', {}, T.signin.signupIntro),
    email.wrap, password.wrap, formError, button, forgot);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    withBusy(button, () => submitAuth(mode, email, password, formError));
  });
  return form;
}

/** Send an auth form as typed (the API says what is wrong); on success go where the resident was going. */
async function submitAuth(mode, email, password, formError) {
  formError.textContent = '';
  setFieldError(email, '');
  setFieldError(password, '');
  try {
    state.session = await api('POST', `/api/auth/${mode}`, {
      email: email.input.value.trim(), password: password.input.value,
    });
  } catch (err) {
    formError.textContent = err.message;
    // The fields are wrong only when the server says so, not when the network failed.
    const blamed = { weak_password: [password], bad_email: [email], email_taken: [email] }[err.code]
      || ({ 400: [email, password], 401: [email, password] }[err.status] || []);
    for (const f of blamed) f.input.setAttribute('aria-invalid', 'true');
    (blamed[0] || email).input.focus();
    return;
  }
  signedIn(mode === 'signup' ? T.signin.registered : T.signin.welcome);
}

/** After any sign-in: a visible confirmation, then back where the resident was going. */
export function signedIn(message) {
  state.session.scope_account = state.session.scope_account ?? null;
  state.expired = null;
  state.flash = message;
  announce(message);
  const target = state.returnTo || '#/cabinet';
  state.returnTo = null;
  go(target);
}

/** Viber and the phone lines, as links a phone opens directly. */
function doors(config) {
  const d = config.doors;
  if (!d) return null;
  const items = [
    [d.viber, T.signin.viber, T.signin.viberHint, 'door-viber'],
    d.keypad && [d.keypad.href, T.signin.keypad(d.keypad.number), T.signin.keypadHint, 'door-keypad'],
    d.voice && [d.voice.href, T.signin.voice(d.voice.number), T.signin.voiceHint, 'door-voice'],
  ].filter(Boolean);
  return h('section', { class: 'section card doors', 'aria-labelledby': 'doors-heading' },
    h('h2', { id: 'doors-heading' }, T.signin.doorsHeading),
    h('ul', { class: 'doors__list' }, items.map(([href, text, hint, id]) => h('li', {},
      h('a', { href, class: 'btn btn--secondary btn--wide', id, 'aria-describedby': `${id}-hint` }, text),
      h('p', { class: 'field__hint', id: `${id}-hint` }, hint)))));
}

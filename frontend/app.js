/**
 * The web cabinet of the meter-readings service: one page, hash routing, plain DOM, no build step.
 * Every text a resident reads lives in T; data from the API only ever reaches the DOM as text nodes.
 * Routes and JSON shapes follow docs/api.md.
 */

/** Texts for residents, in Ukrainian, in one place. */
const T = {
  service: 'Єдина комунальна система',
  serviceSub: 'показники лічильників',
  loading: 'Завантаження…',
  network: "Не вдалося зв'язатися з сервером. Перевірте з'єднання та спробуйте ще раз.",
  serverError: 'Сталася помилка на сервері. Спробуйте ще раз за кілька хвилин.',
  badAnswer: 'Сервер надіслав незрозумілу відповідь. Спробуйте ще раз.',
  retry: 'Спробувати ще раз',
  busy: 'Зачекайте…',
  none: '—',
  homeLink: 'Перейти до кабінету',
  nav: { label: 'Основна навігація', cabinet: 'Мої адреси', readings: 'Введення показників' },
  signedInAs: 'Ви увійшли як ',
  qrSession: 'Ви увійшли за QR-кодом рахунку-квитанції',
  signout: 'Вийти',
  signedOut: 'Ви вийшли з кабінету.',
  signin: {
    title: 'Вхід до персонального кабінету',
    intro:
      'Найшвидше — відсканувати QR-код «внести на сайт» у нижньому лівому куті рахунку-квитанції: ' +
      'ви одразу потрапите на сторінку введення показників. Або увійдіть за e-mail і паролем.',
    signinHeading: 'Вхід',
    signupHeading: 'Реєстрація',
    signupIntro: 'Ще не маєте кабінету? Створіть його, а потім додайте свою адресу за номером рахунку та SRC-кодом.',
    email: 'Електронна пошта (e-mail)',
    password: 'Пароль',
    newPassword: 'Придумайте пароль',
    newPasswordHint: 'Щонайменше 8 символів.',
    signinButton: 'Увійти',
    signupButton: 'Зареєструватися',
    emailMissing: 'Вкажіть e-mail, наприклад name@example.com.',
    passwordMissing: 'Вкажіть пароль.',
    passwordShort: 'Пароль має містити щонайменше 8 символів.',
    welcome: 'Ви увійшли до кабінету.',
    registered: 'Кабінет створено. Додайте свою адресу.',
  },
  qr: {
    title: 'Вхід за QR-кодом',
    checking: 'Перевіряємо QR-код рахунку-квитанції…',
    failed: 'Не вдалося увійти за QR-кодом.',
    help: 'Також можна увійти до кабінету за e-mail і паролем.',
    signinLink: 'Увійти за e-mail і паролем',
  },
  cabinet: {
    title: 'Персональний кабінет',
    addresses: 'Мої адреси',
    addressesIntro: 'Прив’язані до кабінету адреси. Оберіть потрібну для роботи:',
    empty: 'До кабінету ще не додано жодної адреси. Додайте її нижче за номером особового рахунку та SRC-кодом.',
    cols: {
      city: 'Місто (код)',
      account: 'Особовий рахунок',
      holder: 'ПІБ',
      address: 'Адреса',
      choose: 'Обрати для роботи',
      remove: 'Видалення',
    },
    chooseButton: 'Обрати для роботи',
    chosen: 'Адресу обрано для роботи',
    removeButton: 'Видалити',
    forAccount: (n) => ` — о/р ${n}`,
    confirmRemove: (a) =>
      `Видалити адресу «${a.address}» (особовий рахунок ${a.number}) з кабінету? ` +
      'Показники та історія не зникнуть, адресу можна буде додати знову.',
    removed: (a) => `Адресу «${a.address}» видалено з кабінету.`,
    chosenAnnounce: (a) => `Адресу обрано для роботи: ${a.address}.`,
    current: 'Поточна робоча адреса',
    currentLine: (a) => `${a.address}, особовий рахунок ${a.number}`,
    noneChosen: 'Оберіть адресу для роботи в таблиці вище.',
    viberText: 'Для внесення показників через Viber відскануйте цей QR-код у застосунку Viber',
    viberAlt: (n) => `QR-код Viber для особового рахунку ${n}`,
    toReadings: 'Введення показників',
    add: 'Додати адресу',
    addLabel: 'Особовий рахунок і SRC-код разом',
    addHint:
      'Обидва числа надруковано на рахунку-квитанції. Введіть їх підряд, без пробілів та інших знаків — ' +
      'разом 8 або 9 цифр. Наприклад, рахунок 77777 і SRC-код 512: 77777512.',
    addButton: 'Додати адресу',
    addInvalid: 'Введіть 8 або 9 цифр: номер особового рахунку і SRC-код підряд.',
    added: (a) => `Адресу додано: ${a.address}, особовий рахунок ${a.number}.`,
  },
  account: {
    title: 'Введення показників',
    yourData: 'Ваші дані',
    city: 'Місто',
    number: 'Особовий рахунок',
    holder: 'ПІБ',
    address: 'Адреса',
    debt: 'Заборгованість',
    overpaid: 'Переплата',
    noDebt: 'Заборгованості немає',
    payment: 'Реквізити для оплати',
    recipient: 'Отримувач',
    iban: 'IBAN',
    purpose: 'Призначення платежу',
    uah: 'грн',
    rules: 'Важлива інформація',
    meters: 'Лічильники',
    howTo: 'Введіть показники у жовті поля та натисніть «Зберегти показники» внизу сторінки.',
    noMeters: 'На цьому рахунку немає лічильників.',
    cols: {
      number: 'Номер лічильника',
      note: 'Примітки',
      previous: 'Попередні показники',
      current: 'Поточні показники',
      consumption: 'Витрата',
      stats: 'Статистика',
    },
    nextVerification: 'Дата наступної повірки: ',
    previousFor: (m) => `за ${m}`,
    closedOpensAt: (when) => `Зараз прийом показників закрито. Внесення відкриється ${when}.`,
    closedOver: 'Прийом показників за цей період завершено. Дочекайтеся наступного періоду.',
    statsLink: 'Статистика',
    statsFor: (label) => ` лічильника ${label}`,
    belowPrevious: 'менше за попередні',
    save: 'Зберегти показники',
    nothingToSave: 'Немає нових показників для збереження. Введіть показники в жовті поля.',
    nothingNew: 'Нових показників немає: введені значення вже збережено.',
    alreadySaved: 'Цей показник уже збережено, повторно надсилати не потрібно.',
    fixErrors: 'Виправте позначені поля й натисніть «Зберегти показники» ще раз.',
    invalidValue: 'Введіть число, наприклад 6116.255 (до трьох знаків після крапки або коми).',
    sending: 'Зберігаємо показники…',
    confirmYes: 'Так, значення правильне',
    confirmFix: 'Ні, виправити',
    botOn: 'увімкнути бот для лічильника',
    botAmount: 'щомісяця автоматично додавати',
    botEnabled: (amount, unit) =>
      `Бот увімкнено! У разі відсутності показників буде автоматично враховано витрату: ${amount} ${unit}`,
    botDisabled: 'Бот вимкнено.',
    botInvalid: 'Вкажіть кількість числом, наприклад 5 або 2,5 (0 — якщо ніхто не проживає).',
    botSaving: 'Зберігаємо налаштування бота…',
  },
  status: {
    saved: 'Збережено',
    needs_confirmation: 'Потрібне підтвердження',
    rejected: 'Не прийнято',
    closed: 'Прийом закрито',
    superseded: 'Вже є новіші показники',
    unchanged: 'Без змін',
    invalid: 'Помилка',
  },
  summary: {
    saved: 'Збережено показників',
    needs_confirmation: 'Потребують підтвердження',
    rejected: 'Не прийнято',
    closed: 'Прийом закрито',
    superseded: 'Вже є новіші показники',
    unchanged: 'Без змін',
    nothingSaved: 'Жодного показника не збережено.',
    checkRows: 'Перегляньте повідомлення біля лічильників.',
  },
  stats: {
    title: (label) => `Статистика лічильника ${label}`,
    back: '← До введення показників',
    chart: 'Витрата за місяцями',
    chartDesc: (max, min) => `Найбільша витрата — ${max}, найменша — ${min}.`,
    chartEmpty: 'Даних для графіка ще немає.',
    chartTable: 'Таблиця даних графіка',
    month: 'Місяць',
    value: 'Показник',
    consumption: 'Витрата',
    submissions: 'Усі подані показники',
    submissionsIntro: 'До уваги береться останній показник, поданий у період внесення.',
    noSubmissions: 'Показників ще не подавали.',
    cols: {
      value: 'Показник',
      month: 'Розрахунковий місяць',
      at: 'Час',
      channel: 'Канал',
      source: 'Джерело',
      warnings: 'Попередження',
    },
  },
  channels: {
    web: 'сайт',
    viber: 'Viber',
    ivr: 'телефон (клавіатура)',
    voice: 'телефон (голос)',
    bot: 'бот',
    operator: 'оператор',
  },
};

const CHOSEN_KEY = 'ekc.chosenAccount';
const VALUE_RE = /^\d{1,9}(\.\d{1,3})?$/;
const AMOUNT_RE = /^\d{1,6}(\.\d{1,3})?$/;

/** Everything the page remembers between views. */
const state = { session: null, returnTo: null };

// ---------------------------------------------------------------- DOM helpers

const PROPS = new Set(['value', 'checked', 'htmlFor']);

/** Create an element: props become attributes (on* become listeners), children strings become text. */
function h(tag, props, ...children) {
  const node = document.createElement(tag);
  setProps(node, props);
  append(node, children);
  return node;
}

/** Create an SVG element with attributes and children. */
function s(tag, attrs, ...children) {
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
function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === '') continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Text that screen readers read but nobody sees. */
function hidden(text) {
  return h('span', { class: 'visually-hidden' }, text);
}

/** Keep a table's semantics when CSS stacks it into cards on phones (display: block drops them in some browsers). */
function withTableRoles(table) {
  table.setAttribute('role', 'table');
  for (const part of table.querySelectorAll('thead, tbody')) part.setAttribute('role', 'rowgroup');
  for (const row of table.querySelectorAll('tr')) row.setAttribute('role', 'row');
  for (const cell of table.querySelectorAll('thead th')) cell.setAttribute('role', 'columnheader');
  for (const cell of table.querySelectorAll('tbody th')) cell.setAttribute('role', 'rowheader');
  for (const cell of table.querySelectorAll('td')) cell.setAttribute('role', 'cell');
  return table;
}

/** Turn any string into a safe id fragment. */
function idPart(value) {
  return String(value).replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Replace a node, putting focus back on the element with the same id if it had focus. */
function replaceKeepingFocus(oldNode, newNode) {
  const active = document.activeElement;
  const id = active && active !== document.body && oldNode.contains(active) ? active.id : '';
  oldNode.replaceWith(newNode);
  if (id) document.getElementById(id)?.focus();
}

/** Say something through the page's polite live region. */
function announce(text) {
  const live = document.getElementById('live');
  live.textContent = '';
  // A fresh text node after a tick makes screen readers repeat identical messages too.
  window.setTimeout(() => {
    live.textContent = text;
  }, 50);
}

/** Guard a button against double clicks while fn runs; the button keeps focus. */
async function withBusy(button, fn) {
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

// ---------------------------------------------------------------- formatting

const KYIV_PARTS = (() => {
  try {
    return new Intl.DateTimeFormat('uk-UA', {
      timeZone: 'Europe/Kyiv',
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
  } catch {
    return null;
  }
})();

/** ISO timestamp -> "dd/mm/yyyy hh:mm:ss" in Kyiv time. */
function fmtDateTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return iso || T.none;
  if (!KYIV_PARTS) return date.toLocaleString('uk-UA');
  const p = Object.fromEntries(KYIV_PARTS.formatToParts(date).map((x) => [x.type, x.value]));
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}:${p.second}`;
}

/** "2027-11-08" -> "08/11/2027". */
function fmtDate(isoDate) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate || '');
  return m ? `${m[3]}/${m[2]}/${m[1]}` : isoDate || T.none;
}

/** "2026-11" -> "11/2026". */
function fmtMonth(month) {
  const m = /^(\d{4})-(\d{2})$/.exec(month || '');
  return m ? `${m[2]}/${m[1]}` : month || T.none;
}

/** A typed reading ("6200,5", " 6 200.5 ") -> canonical "6200.5", or null when it is not a number. */
function normalizeValue(raw) {
  const text = String(raw ?? '').replace(/[\s\u00a0]/g, '').replace(',', '.');
  return VALUE_RE.test(text) ? text : null;
}

/** Canonical decimal string -> integer thousandths (exact, no float drift). */
function toMilli(text) {
  const [whole, frac = ''] = String(text).replace(/^-/, '').split('.');
  const value = Number(whole) * 1000 + Number((frac + '000').slice(0, 3));
  return String(text).startsWith('-') ? -value : value;
}

/** Integer thousandths -> "84.000". */
function fromMilli(milli) {
  const sign = milli < 0 ? '−' : '';
  const abs = Math.abs(milli);
  return `${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`;
}

// ---------------------------------------------------------------- API

/** An error answer of the API, or a network failure (status 0). */
class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.redirected = false;
  }
}

/** Call the API; throws ApiError with a Ukrainian message. A 401 outside /api/auth sends the resident to sign in. */
async function api(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.session?.csrf) headers['X-CSRF-Token'] = state.session.csrf;
  Object.assign(headers, opts.headers || {});
  let res;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'network', T.network);
  }
  if (res.status === 204) return null;
  const data = await res.json().catch(() => null);
  if (res.ok) {
    if (data === null) throw new ApiError(res.status, 'bad_answer', T.badAnswer);
    return data;
  }
  const error = data?.error || {};
  const err = new ApiError(
    res.status,
    error.code || `http_${res.status}`,
    error.message || (res.status >= 500 ? T.serverError : T.badAnswer),
    error.details,
  );
  if (res.status === 403 && err.code === 'csrf' && !opts.retried && (await refreshSession())) {
    return api(method, path, body, { ...opts, retried: true });
  }
  if (res.status === 401 && !path.startsWith('/api/auth/') && !opts.quiet401) {
    err.redirected = true;
    signedOut();
  }
  throw err;
}

/** Re-read the session (and its CSRF token) from /api/me; true when still signed in. */
async function refreshSession() {
  try {
    state.session = await api('GET', '/api/me', undefined, { quiet401: true, retried: true });
    return true;
  } catch {
    return false;
  }
}

/** Forget the session and go to the sign-in page, remembering where the resident was. */
function signedOut() {
  state.session = null;
  const here = location.hash;
  if (here && !here.startsWith('#/signin') && !here.startsWith('#/qr/')) state.returnTo = here;
  renderHeader();
  go('#/signin', true);
}

// ---------------------------------------------------------------- chosen address

/** The account number chosen for work, as remembered on this device. */
function getChosen() {
  try {
    return localStorage.getItem(CHOSEN_KEY);
  } catch {
    return null;
  }
}

/** Remember (or forget, with null) the account chosen for work. */
function setChosen(number) {
  try {
    if (number) localStorage.setItem(CHOSEN_KEY, number);
    else localStorage.removeItem(CHOSEN_KEY);
  } catch {
    // Private browsing may refuse storage; the choice then lasts for this page only.
  }
}

// ---------------------------------------------------------------- router

const ROUTES = [
  { re: /^#\/signin$/, view: viewSignin, open: true },
  { re: /^#\/qr\/(.+)$/, view: viewQr, open: true },
  { re: /^#\/cabinet$/, view: viewCabinet },
  { re: /^#\/account\/(\d+)$/, view: viewAccount },
  { re: /^#\/account\/(\d+)\/meter\/([^/]+)$/, view: viewMeter },
];

/** Navigate to a hash; replace=true keeps it out of the back-button history. */
function go(hash, replace = false) {
  if (location.hash === hash) {
    route();
  } else if (replace) {
    location.replace(hash);
  } else {
    location.hash = hash;
  }
}

/** Where a signed-in resident starts. */
function homeHash() {
  if (!state.session) return '#/signin';
  if (state.session.scope_account) return `#/account/${state.session.scope_account}`;
  return '#/cabinet';
}

/** Render the view for the current hash into <main>. */
function route() {
  const hash = location.hash;
  const found = ROUTES.map((r) => ({ r, m: r.re.exec(hash) })).find((x) => x.m);
  if (!found) {
    go(homeHash(), true);
    return;
  }
  if (!found.r.open && !state.session) {
    state.returnTo = hash;
    go('#/signin', true);
    return;
  }
  const main = document.getElementById('main');
  const root = h('div', { class: 'view' });
  main.replaceChildren(root);
  renderHeader();
  const args = found.m.slice(1).map(safeDecode);
  found.r.view(root, ...args);
}

/** decodeURIComponent that leaves malformed escapes as they are instead of throwing. */
function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Give a view its heading, document title and (after navigation) focus. */
function viewHeading(root, text, extra) {
  const h1 = h('h1', { tabindex: '-1', id: 'page-title' }, text);
  root.append(h1);
  if (extra) root.append(extra);
  document.title = `${text} — ${T.service}`;
  if (route.navigated) h1.focus();
  return h1;
}

/** A block that tells about a failed call, with an optional retry. */
function errorBlock(err, retry) {
  return h(
    'div',
    { class: 'notice notice--error', role: 'alert' },
    h('p', {}, err.message || T.serverError),
    retry && h('button', { type: 'button', class: 'btn btn--secondary', onclick: retry }, T.retry),
  );
}

/** Show a loading line in root and run load(); on failure show the error with a retry. */
async function loadInto(root, load, render) {
  const loading = h('p', { class: 'loading', role: 'status' }, T.loading);
  root.append(loading);
  try {
    const data = await load();
    loading.remove();
    render(data);
  } catch (err) {
    loading.remove();
    if (err.redirected) return;
    const transient = err.status === 0 || err.status >= 500;
    root.append(errorBlock(err, transient ? () => route() : null));
    if (!transient) root.append(h('p', {}, h('a', { href: homeHash(), class: 'btn btn--secondary' }, T.homeLink)));
  }
}

// ---------------------------------------------------------------- header

/** Draw the header's navigation and the signed-in line for the current session. */
function renderHeader() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const session = state.session;
  nav.hidden = !session;
  who.hidden = !session;
  if (!session) {
    nav.replaceChildren();
    who.replaceChildren();
    return;
  }
  const readingsAccount = session.scope_account || getChosen();
  const links = [];
  if (!session.scope_account) links.push(navLink('#/cabinet', T.nav.cabinet));
  if (readingsAccount) links.push(navLink(`#/account/${readingsAccount}`, T.nav.readings));
  nav.setAttribute('aria-label', T.nav.label);
  nav.replaceChildren(h('ul', {}, links.map((a) => h('li', {}, a))));
  const line = session.person
    ? h('span', { class: 'who__text' }, h('span', { class: 'who__prefix' }, T.signedInAs),
      h('strong', {}, session.person.email))
    : h('span', { class: 'who__text' }, T.qrSession);
  const button = h('button', { type: 'button', class: 'btn btn--header', id: 'signout' }, T.signout);
  button.addEventListener('click', () => withBusy(button, signOut));
  who.replaceChildren(line, button);
}

/** A navigation link, marked current when it is the page shown. */
function navLink(hash, text) {
  const current = location.hash === hash || location.hash.startsWith(`${hash}/`);
  return h('a', { href: hash, 'aria-current': current ? 'page' : null }, text);
}

/** Sign out on the server, then forget everything locally. */
async function signOut() {
  try {
    await api('POST', '/api/auth/signout');
  } catch (err) {
    if (err.redirected) return;
    if (err.status === 0 || err.status >= 500) {
      announce(err.message);
      return;
    }
  }
  state.session = null;
  state.returnTo = null;
  // A shared phone should not keep the last resident's account number.
  setChosen(null);
  announce(T.signedOut);
  renderHeader();
  go('#/signin');
}

// ---------------------------------------------------------------- form fields

/** A labelled input with an optional hint and an error line tied by aria-describedby. */
function field({ id, label, hint, ...inputProps }) {
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
function setFieldError(f, message) {
  f.error.textContent = message || '';
  if (message) f.input.setAttribute('aria-invalid', 'true');
  else f.input.removeAttribute('aria-invalid');
}

// ---------------------------------------------------------------- #/signin

/** Sign-in and sign-up forms. */
function viewSignin(root) {
  if (state.session) {
    go(homeHash(), true);
    return;
  }
  viewHeading(root, T.signin.title, h('p', { class: 'lead' }, T.signin.intro));
  root.append(h('div', { class: 'cards cards--two' }, signinForm('signin'), signinForm('signup')));
}

/** One of the two auth forms; mode is "signin" or "signup". */
function signinForm(mode) {
  const isUp = mode === 'signup';
  const email = field({
    id: `${mode}-email`, label: T.signin.email, type: 'email', autocomplete: 'username',
    inputmode: 'email', autocapitalize: 'off', spellcheck: 'false',
  });
  const password = field({
    id: `${mode}-password`, label: isUp ? T.signin.newPassword : T.signin.password, type: 'password',
    autocomplete: isUp ? 'new-password' : 'current-password', hint: isUp ? T.signin.newPasswordHint : null,
  });
  const formError = h('p', { class: 'form-error', id: `${mode}-form-error`, role: 'alert' });
  for (const f of [email, password]) {
    f.input.setAttribute('aria-describedby', `${f.input.getAttribute('aria-describedby')} ${formError.id}`);
  }
  const button = h('button', { type: 'submit', class: 'btn btn--primary btn--wide' },
    isUp ? T.signin.signupButton : T.signin.signinButton);
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': `${mode}-heading` },
    h('h2', { id: `${mode}-heading` }, isUp ? T.signin.signupHeading : T.signin.signinHeading),
    isUp && h('p', {}, T.signin.signupIntro),
    email.wrap, password.wrap, formError, button);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    withBusy(button, () => submitAuth(mode, email, password, formError));
  });
  return form;
}

/** Validate and send an auth form; on success open the cabinet (or where the resident was going). */
async function submitAuth(mode, email, password, formError) {
  formError.textContent = '';
  const address = email.input.value.trim();
  const secret = password.input.value;
  setFieldError(email, address.includes('@') ? '' : T.signin.emailMissing);
  let pwError = secret ? '' : T.signin.passwordMissing;
  if (mode === 'signup' && secret && secret.length < 8) pwError = T.signin.passwordShort;
  setFieldError(password, pwError);
  const firstBad = [email, password].find((f) => f.input.getAttribute('aria-invalid'));
  if (firstBad) {
    firstBad.input.focus();
    return;
  }
  try {
    state.session = await api('POST', `/api/auth/${mode}`, { email: address, password: secret });
  } catch (err) {
    formError.textContent = err.message;
    // The fields are wrong only when the server says so, not when the network failed.
    const blamed = { 400: [email, password], 401: [email, password], 409: [email] }[err.status] || [];
    for (const f of blamed) f.input.setAttribute('aria-invalid', 'true');
    return;
  }
  state.session.scope_account = state.session.scope_account ?? null;
  announce(mode === 'signup' ? T.signin.registered : T.signin.welcome);
  const target = state.returnTo || '#/cabinet';
  state.returnTo = null;
  go(target);
}

// ---------------------------------------------------------------- #/qr/<token>

/** Sign in with the invoice's web QR token, then open that account's readings. */
function viewQr(root, token) {
  viewHeading(root, T.qr.title);
  const status = h('p', { role: 'status' }, T.qr.checking);
  root.append(status);
  api('POST', '/api/auth/qr', { token })
    .then((answer) => {
      state.session = answer;
      go(`#/account/${answer.scope_account}`, true);
    })
    .catch((err) => {
      status.remove();
      if (err.status === 0 || err.status >= 500) {
        root.append(errorBlock(err, () => route()));
        return;
      }
      root.append(h('div', { class: 'notice notice--error', role: 'alert' },
        h('p', {}, h('strong', {}, T.qr.failed)),
        h('p', {}, err.message)));
      append(root, [state.session
        ? h('p', {}, h('a', { href: homeHash(), class: 'btn btn--primary' }, T.homeLink))
        : [h('p', {}, T.qr.help), h('p', {}, h('a', { href: '#/signin', class: 'btn btn--primary' }, T.qr.signinLink))]]);
    });
}

// ---------------------------------------------------------------- #/cabinet

/** The addresses table, the chosen address with its Viber QR, and the add-address form. */
function viewCabinet(root) {
  if (state.session.scope_account) {
    go(`#/account/${state.session.scope_account}`, true);
    return;
  }
  viewHeading(root, T.cabinet.title);
  const view = { root, accounts: [], table: h('div'), panel: h('div') };
  loadInto(root, () => api('GET', '/api/accounts'), (data) => {
    view.accounts = data.accounts || [];
    ensureChosen(view.accounts);
    root.append(
      h('section', { class: 'section', 'aria-labelledby': 'addresses-heading' },
        h('h2', { id: 'addresses-heading', tabindex: '-1' }, T.cabinet.addresses),
        view.table),
      view.panel,
      addAddressSection(view),
    );
    redrawCabinet(view);
  });
}

/** Make sure the remembered choice is one of the linked addresses (else take the first). */
function ensureChosen(accounts) {
  const chosen = getChosen();
  if (!accounts.some((a) => a.number === chosen)) setChosen(accounts[0]?.number || null);
}

/** Redraw the table and the chosen-address panel after any change. */
function redrawCabinet(view) {
  const table = addressesTable(view);
  replaceKeepingFocus(view.table, table);
  view.table = table;
  const panel = chosenPanel(view.accounts.find((a) => a.number === getChosen()));
  replaceKeepingFocus(view.panel, panel);
  view.panel = panel;
  renderHeader();
}

/** The linked addresses as a table (stacked into cards on phones). */
function addressesTable(view) {
  if (!view.accounts.length) return h('p', { class: 'notice' }, T.cabinet.empty);
  const c = T.cabinet.cols;
  const head = h('thead', {}, h('tr', {},
    [c.city, c.account, c.holder, c.address, c.choose, c.remove].map((t) => h('th', { scope: 'col' }, t))));
  const body = h('tbody', {}, view.accounts.map((a) => addressRow(view, a)));
  return h('div', { class: 'table-wrap' },
    withTableRoles(h('table', { class: 'table table--stack', id: 'addresses' },
      h('caption', { class: 'visually-hidden' }, T.cabinet.addressesIntro), head, body)));
}

/** One address row with its choose and remove controls. */
function addressRow(view, a) {
  const c = T.cabinet.cols;
  const isChosen = a.number === getChosen();
  const chooseCell = isChosen
    ? h('span', { class: 'chosen-mark', id: `chosen-${idPart(a.number)}`, tabindex: '-1' },
      h('span', { 'aria-hidden': 'true' }, '✓ '), T.cabinet.chosen)
    : h('button', { type: 'button', class: 'btn btn--secondary', onclick: () => chooseAddress(view, a) },
      T.cabinet.chooseButton, hidden(T.cabinet.forAccount(a.number)));
  const remove = h('button', { type: 'button', class: 'btn btn--danger', id: `remove-${idPart(a.number)}` },
    T.cabinet.removeButton, hidden(T.cabinet.forAccount(a.number)));
  remove.addEventListener('click', () => withBusy(remove, () => removeAddress(view, a)));
  return h('tr', { class: isChosen ? 'is-chosen' : null, 'data-account': a.number },
    h('td', { 'data-label': c.city }, `${a.city} (${a.city_code})`),
    h('th', { scope: 'row', 'data-label': c.account }, a.number),
    h('td', { 'data-label': c.holder }, a.holder),
    h('td', { 'data-label': c.address }, a.address),
    h('td', { 'data-label': c.choose }, chooseCell),
    h('td', { 'data-label': c.remove }, remove));
}

/** Choose an address for work and move focus to its new mark. */
function chooseAddress(view, a) {
  setChosen(a.number);
  redrawCabinet(view);
  document.getElementById(`chosen-${idPart(a.number)}`)?.focus();
  announce(T.cabinet.chosenAnnounce(a));
}

/** Unlink an address after the resident confirms. */
async function removeAddress(view, a) {
  if (!window.confirm(T.cabinet.confirmRemove(a))) return;
  try {
    await api('DELETE', `/api/accounts/${encodeURIComponent(a.number)}`);
  } catch (err) {
    if (!err.redirected) announceError(err);
    return;
  }
  view.accounts = view.accounts.filter((x) => x.number !== a.number);
  ensureChosen(view.accounts);
  redrawCabinet(view);
  document.getElementById('addresses-heading')?.focus();
  announce(T.cabinet.removed(a));
}

/** Report a failed call in an alert box under the view's heading (replacing an earlier one). */
function announceError(err) {
  const root = document.querySelector('#main .view');
  root?.querySelector(':scope > .notice--transient')?.remove();
  const box = errorBlock(err);
  box.classList.add('notice--transient');
  root?.querySelector('h1')?.after(box);
}

/** The chosen address: its line, the Viber QR, and the way to the readings page. */
function chosenPanel(a) {
  if (!a) return h('div');
  return h('section', { class: 'section card chosen', 'aria-labelledby': 'chosen-heading' },
    h('h2', { id: 'chosen-heading' }, T.cabinet.current),
    h('p', { class: 'chosen__line' }, T.cabinet.currentLine(a)),
    h('p', {}, h('a', { href: `#/account/${encodeURIComponent(a.number)}`, class: 'btn btn--primary chosen__go' },
      T.cabinet.toReadings)),
    h('figure', { class: 'qr' },
      h('img', {
        src: `/api/accounts/${encodeURIComponent(a.number)}/qr/viber?format=svg`,
        alt: T.cabinet.viberAlt(a.number), width: '220', height: '220',
      }),
      h('figcaption', {}, T.cabinet.viberText)));
}

/** The "add an address" form: account number and SRC code written together. */
function addAddressSection(view) {
  const code = field({
    id: 'add-code', label: T.cabinet.addLabel, hint: T.cabinet.addHint, type: 'text', inputmode: 'numeric',
    autocomplete: 'off', pattern: '[0-9 ]*', maxlength: '12', class: 'input--code',
  });
  const done = h('p', { class: 'form-success', role: 'status', id: 'add-done' });
  const button = h('button', { type: 'submit', class: 'btn btn--primary' }, T.cabinet.addButton);
  const form = h('form', { class: 'section card', novalidate: true, 'aria-labelledby': 'add-heading', id: 'add-form' },
    h('h2', { id: 'add-heading' }, T.cabinet.add), code.wrap, button, done);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    withBusy(button, () => addAddress(view, code, done));
  });
  return form;
}

/** Validate and link an address by account + SRC code. */
async function addAddress(view, code, done) {
  done.textContent = '';
  const digits = code.input.value.replace(/[\s\u00a0-]/g, '');
  if (!/^\d{8,9}$/.test(digits)) {
    setFieldError(code, T.cabinet.addInvalid);
    code.input.focus();
    return;
  }
  setFieldError(code, '');
  let answer;
  try {
    answer = await api('POST', '/api/accounts', { code: digits });
  } catch (err) {
    if (err.redirected) return;
    setFieldError(code, err.message);
    code.input.focus();
    return;
  }
  const a = answer.account;
  if (!view.accounts.some((x) => x.number === a.number)) view.accounts.push(a);
  if (!getChosen()) setChosen(a.number);
  code.input.value = '';
  redrawCabinet(view);
  done.textContent = T.cabinet.added(a);
}

// ---------------------------------------------------------------- #/account/<n>

/** The readings page of one account. */
function viewAccount(root, number) {
  const h1 = viewHeading(root, T.account.title);
  loadInto(root, () => api('GET', `/api/accounts/${encodeURIComponent(number)}`), (page) => {
    if (state.session?.person) setChosen(number);
    renderHeader();
    const rp = { number, page, drafts: new Map(), results: new Map(), list: null, summary: null };
    h1.after(h('p', { class: 'lead' }, page.account.address));
    root.append(
      h('div', { class: 'account-top' }, accountData(page.account), rulesBox(page.rules || [])),
      readingsForm(rp),
    );
  });
}

/** "Ваші дані": the account and, when known, the debt with payment details. */
function accountData(a) {
  const t = T.account;
  const rows = [
    [t.city, `${a.city} (${a.city_code})`],
    [t.number, a.number],
    [t.holder, a.holder],
    [t.address, a.address],
  ];
  const debt = a.debt;
  if (debt) {
    const amount = Number(debt.amount);
    if (amount > 0) rows.push([t.debt, `${debt.amount} ${t.uah}`]);
    else if (amount < 0) rows.push([t.overpaid, `${String(debt.amount).replace('-', '')} ${t.uah}`]);
    else rows.push([t.debt, t.noDebt]);
  }
  const payment = debt
    ? [[t.recipient, debt.recipient], [t.iban, debt.iban], [t.purpose, debt.purpose]].filter(([, v]) => v)
    : [];
  return h('section', { class: 'card your-data', 'aria-labelledby': 'data-heading' },
    h('h2', { id: 'data-heading' }, t.yourData),
    facts(rows),
    payment.length > 0 && h('details', { class: 'payment' }, h('summary', {}, t.payment), facts(payment)));
}

/** A definition list of [term, value] pairs. */
function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

/** "Важлива інформація": the rules as sent by the API. */
function rulesBox(rules) {
  return h('aside', { class: 'card rules', 'aria-labelledby': 'rules-heading' },
    h('h2', { id: 'rules-heading' }, T.account.rules),
    h('ul', {}, rules.map((r) => h('li', {}, r))));
}

/** The meters list with one save button and the summary live region. */
function readingsForm(rp) {
  const c = T.account.cols;
  rp.list = h('ol', { class: 'meters', id: 'meters' });
  drawMeters(rp);
  rp.summary = h('div', { class: 'save-summary', id: 'save-summary', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'btn btn--primary btn--save', id: 'save-readings' },
    T.account.save);
  const form = h('form', { class: 'section readings', id: 'readings-form', novalidate: true,
    'aria-labelledby': 'meters-heading' },
  h('h2', { id: 'meters-heading' }, T.account.meters),
  h('p', { class: 'howto' }, T.account.howTo),
  rp.page.meters.length
    ? [h('div', { class: 'meters-head', 'aria-hidden': 'true' },
      [c.number, c.note, c.previous, c.current, c.consumption, c.stats].map((t) => h('span', {}, t))), rp.list]
    : h('p', { class: 'notice' }, T.account.noMeters),
  h('div', { class: 'save-bar' }, button, rp.summary));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    withBusy(button, () => saveReadings(rp));
  });
  return form;
}

/** (Re)draw every meter row from rp.page.meters, drafts and results. */
function drawMeters(rp) {
  const list = h('ol', { class: 'meters', id: 'meters' }, rp.page.meters.map((m) => meterRow(rp, m)));
  if (rp.list.parentNode) replaceKeepingFocus(rp.list, list);
  rp.list = list;
}

/** Redraw one meter row in place. */
function redrawMeter(rp, meterId) {
  const meter = rp.page.meters.find((m) => m.id === meterId);
  const old = document.getElementById(`meter-${idPart(meterId)}`);
  if (meter && old) replaceKeepingFocus(old, meterRow(rp, meter));
}

/** The value the input starts with: the reading already given in the open window, if any. */
function prefill(meter) {
  const cur = meter.current;
  return meter.window?.open && cur && cur.billing_month === meter.window.billing_month ? cur.value : '';
}

/** One meter: number, note, previous, current input, consumption, statistics; then result, bot, source. */
function meterRow(rp, m) {
  const key = idPart(m.id);
  const c = T.account.cols;
  const open = Boolean(m.window?.open);
  const ids = { input: `reading-${key}`, prev: `prev-${key}`, result: `result-${key}`, closed: `closed-${key}`,
    cons: `cons-${key}` };
  const input = h('input', {
    id: ids.input, name: ids.input, class: 'reading-input', type: 'text', inputmode: 'decimal',
    autocomplete: 'off', spellcheck: 'false', enterkeyhint: 'done', disabled: !open,
    value: open ? (rp.drafts.get(m.id) ?? prefill(m)) : '',
    'aria-describedby': [ids.prev, open ? null : ids.closed, ids.cons, ids.result].filter(Boolean).join(' '),
    'aria-invalid': ['invalid', 'rejected'].includes(rp.results.get(m.id)?.status) ? 'true' : null,
  });
  const cons = h('span', { class: 'cons-value', id: ids.cons }, consumptionText(m, input.value, rp.drafts.has(m.id)));
  input.addEventListener('input', () => {
    rp.drafts.set(m.id, input.value);
    cons.textContent = consumptionText(m, input.value, true);
  });
  return h('li', { class: `meter${open ? '' : ' meter--closed'}`, id: `meter-${key}`, 'data-kind': m.kind,
    'data-meter-id': m.id },
  h('div', { class: 'meter__grid' },
    h('div', { class: 'cell cell--number' },
      h('h3', { class: 'meter__title' }, h('span', { class: 'cell-label' }, c.number, ' '), m.serial_label)),
    h('div', { class: 'cell cell--note' }, h('span', { class: 'cell-label' }, c.note), noteText(m)),
    h('div', { class: 'cell cell--prev', id: ids.prev }, h('span', { class: 'cell-label' }, c.previous),
      m.previous
        ? [h('span', { class: 'num' }, `${m.previous.value} ${m.unit}`), ' ',
          m.previous.billing_month &&
            h('span', { class: 'muted' }, T.account.previousFor(fmtMonth(m.previous.billing_month)))]
        : T.none),
    h('div', { class: 'cell cell--current' },
      h('label', { for: ids.input, class: 'reading-label' }, m.window?.label || c.current),
      h('div', { class: 'reading-box' }, input, h('span', { class: 'unit', 'aria-hidden': 'true' }, m.unit)),
      !open && h('p', { class: 'closed-note', id: ids.closed }, closedText(m.window))),
    h('div', { class: 'cell cell--cons' }, h('span', { class: 'cell-label' }, c.consumption), cons),
    h('div', { class: 'cell cell--stats' },
      h('a', { href: `#/account/${encodeURIComponent(rp.number)}/meter/${encodeURIComponent(m.id)}`,
        class: 'stats-link', id: `stats-${key}` },
      T.account.statsLink, hidden(T.account.statsFor(m.serial_label))))),
  rowResult(rp, m, ids.result),
  botControls(rp, m),
  sourceLine(m, !rp.results.has(m.id)));
}

/** Kind, place and next verification date, like the seed's "Примітки" column. */
function noteText(m) {
  return h('span', { class: 'note' },
    h('span', { class: 'kind' }, m.kind_label), m.note ? ` ${m.note}` : '',
    m.next_verification && h('span', { class: 'verify' }, T.account.nextVerification, fmtDate(m.next_verification)));
}

/** What a closed window says: when it opens next, or that this one is over. */
function closedText(win) {
  const opens = win?.opens_at ? new Date(win.opens_at) : null;
  if (opens && opens.getTime() > Date.now()) return T.account.closedOpensAt(fmtDateTime(win.opens_at));
  return T.account.closedOver;
}

/** Consumption for the cell: a live preview from the typed value, else the server's figure. */
function consumptionText(m, typed, touched) {
  const unit = ` ${m.unit}`;
  if (!touched || !String(typed).trim()) return m.consumption ? m.consumption + unit : T.none;
  const value = normalizeValue(typed);
  if (value === null || !m.previous) return T.none;
  const diff = toMilli(value) - toMilli(m.previous.value);
  return diff < 0 ? `${fromMilli(diff)}${unit} (${T.account.belowPrevious})` : fromMilli(diff) + unit;
}

/** The per-row answer of the last save: status, message, warnings, and the confirm step. */
function rowResult(rp, m, id) {
  const result = rp.results.get(m.id);
  const box = h('div', { class: 'row-result', id, tabindex: '-1' });
  if (!result) return box;
  box.classList.add(`row-result--${result.status}`);
  append(box, [
    h('p', {}, h('strong', { class: 'badge' }, `${T.status[result.status] || result.status}.`), ' ',
      result.message || ''),
    (result.warnings || []).length > 0 && h('ul', { class: 'warnings' }, result.warnings.map((w) =>
      h('li', { class: `warning warning--${w.code}` }, h('span', { 'aria-hidden': 'true' }, '⚠ '), w.message))),
  ]);
  if (result.status === 'needs_confirmation') {
    const yes = h('button', { type: 'button', class: 'btn btn--primary', id: `confirm-${idPart(m.id)}` },
      T.account.confirmYes);
    yes.addEventListener('click', () => withBusy(yes, () => confirmRow(rp, m)));
    const fix = h('button', { type: 'button', class: 'btn btn--secondary', id: `fix-${idPart(m.id)}`,
      onclick: () => fixRow(rp, m) }, T.account.confirmFix);
    box.append(h('div', { class: 'confirm-actions' }, yes, fix));
  }
  return box;
}

/** The last reading's origin ("Дані внесено з IP: ..., час: ..."), with its warnings unless a fresh result shows them. */
function sourceLine(m, withWarnings) {
  const cur = m.current;
  if (!cur?.source_label) return null;
  return h('div', { class: 'source' },
    h('p', {}, cur.source_label),
    withWarnings && (cur.warnings || []).map((w) =>
      h('p', { class: 'warning' }, h('span', { 'aria-hidden': 'true' }, '⚠ '), w.message)));
}

/** Sort the open meters' inputs: new values to send, malformed ones, and ones equal to the saved reading. */
function collectRows(rp) {
  const rows = [];
  const bad = [];
  const same = [];
  for (const m of rp.page.meters) {
    if (!m.window?.open) continue;
    const raw = (rp.drafts.get(m.id) ?? '').trim();
    if (!raw) continue;
    const value = normalizeValue(raw);
    if (value === null) {
      bad.push(m);
      continue;
    }
    const before = prefill(m);
    if (before && toMilli(value) === toMilli(before)) same.push(m);
    else rows.push({ meter_id: m.id, value: raw });
  }
  return { rows, bad, same };
}

/** Save every new reading in one request and show the answer per row and in the summary. */
async function saveReadings(rp) {
  const { rows, bad, same } = collectRows(rp);
  for (const [id, r] of rp.results) {
    if (r.local) rp.results.delete(id);
  }
  for (const m of same) {
    rp.results.set(m.id, { meter_id: m.id, status: 'unchanged', message: T.account.alreadySaved, local: true });
  }
  if (bad.length) {
    for (const m of bad) {
      rp.results.set(m.id, { meter_id: m.id, status: 'invalid', message: T.account.invalidValue, local: true });
    }
    drawMeters(rp);
    setSummary(rp, T.account.fixErrors, 'error');
    document.getElementById(`reading-${idPart(bad[0].id)}`)?.focus();
    return;
  }
  if (!rows.length) {
    drawMeters(rp);
    setSummary(rp, same.length ? T.account.nothingNew : T.account.nothingToSave, 'info');
    return;
  }
  setSummary(rp, T.account.sending, 'info');
  await sendRows(rp, rows);
}

/** A fresh key for one press of a button: a retried request with it is recognised, not saved twice. */
function pressKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** POST rows, then apply the answer; on failure say so and keep every typed value. */
async function sendRows(rp, rows) {
  let answer;
  try {
    answer = await api('POST', `/api/accounts/${encodeURIComponent(rp.number)}/readings`, { rows },
      { headers: { 'Idempotency-Key': pressKey() } });
  } catch (err) {
    if (err.redirected) return null;
    setSummary(rp, err.message, 'error');
    return null;
  }
  applyAnswer(rp, answer);
  return answer;
}

/** Store per-row results, refresh rows from the answer's meters and write the summary. */
function applyAnswer(rp, answer) {
  const results = answer.results || [];
  if (Array.isArray(answer.meters) && answer.meters.length) rp.page.meters = answer.meters;
  for (const r of results) {
    rp.results.set(r.meter_id, r);
    if (!['needs_confirmation', 'rejected'].includes(r.status)) rp.drafts.delete(r.meter_id);
  }
  drawMeters(rp);
  setSummary(rp, summaryText(results), summaryTone(results));
}

/** Write the summary line in a tone: "ok", "warn" or "error". */
function setSummary(rp, text, tone) {
  rp.summary.className = `save-summary save-summary--${tone}`;
  rp.summary.textContent = text;
}

/** Green when everything sent was saved, amber when some were, red when none. */
function summaryTone(results) {
  const sent = results.filter((r) => r.status !== 'unchanged');
  const saved = sent.filter((r) => r.status === 'saved').length;
  if (saved && saved === sent.length) return 'ok';
  return saved ? 'warn' : 'error';
}

/** "Збережено показників: 2. Потребують підтвердження: 1. ..." — only what the API said. */
function summaryText(results) {
  const counts = {};
  for (const r of results) counts[r.status] = (counts[r.status] || 0) + 1;
  const parts = Object.keys(T.summary)
    .filter((k) => counts[k])
    .map((k) => `${T.summary[k]}: ${counts[k]}.`);
  if (!counts.saved) parts.unshift(T.summary.nothingSaved);
  if (results.some((r) => r.status !== 'saved')) parts.push(T.summary.checkRows);
  return parts.join(' ');
}

/** Re-send one row with confirm: true after the resident says the value is right. */
async function confirmRow(rp, m) {
  const raw = (rp.drafts.get(m.id) ?? '').trim();
  setSummary(rp, T.account.sending, 'info');
  const answer = await sendRows(rp, [{ meter_id: m.id, value: raw, confirm: raw }]);
  if (answer) document.getElementById(`result-${idPart(m.id)}`)?.focus();
}

/** Drop the confirm step and put the cursor back into the input to correct the value. */
function fixRow(rp, m) {
  rp.results.delete(m.id);
  redrawMeter(rp, m.id);
  const input = document.getElementById(`reading-${idPart(m.id)}`);
  input?.focus();
  input?.select();
}

// ---------------------------------------------------------------- bot switch

/** The auto-increment bot: a checkbox and a monthly amount, saved at once via PUT .../bot. */
function botControls(rp, m) {
  const key = idPart(m.id);
  const bot = m.bot || { enabled: false, amount: '0' };
  const status = h('p', { class: `bot__status${bot.enabled ? ' bot__status--on' : ''}`, id: `bot-status-${key}` },
    bot.enabled ? T.account.botEnabled(bot.amount, m.unit) : '');
  const toggle = h('input', { type: 'checkbox', id: `bot-on-${key}`, checked: Boolean(bot.enabled),
    'aria-describedby': status.id });
  const amount = h('input', { type: 'text', id: `bot-amount-${key}`, class: 'bot__amount', inputmode: 'decimal',
    autocomplete: 'off', value: bot.amount, 'aria-describedby': status.id });
  const save = () => saveBot(rp, m, toggle, amount, status);
  toggle.addEventListener('change', save);
  amount.addEventListener('change', () => {
    if (toggle.checked) save();
  });
  amount.addEventListener('keydown', (event) => {
    // Enter here means "save the bot", not "save all readings".
    if (event.key === 'Enter') {
      event.preventDefault();
      if (toggle.checked) save();
    }
  });
  return h('div', { class: 'bot' },
    h('div', { class: 'bot__toggle' }, toggle, h('label', { for: toggle.id }, T.account.botOn)),
    h('div', { class: 'bot__amount-row' },
      h('label', { for: amount.id }, T.account.botAmount), amount,
      h('span', { class: 'unit', 'aria-hidden': 'true' }, m.unit)),
    status);
}

/** Send the bot setting; the row is redrawn only from what the API answered. */
async function saveBot(rp, m, toggle, amount, status) {
  const text = amount.value.replace(/\s/g, '').replace(',', '.') || '0';
  if (!AMOUNT_RE.test(text)) {
    toggle.checked = Boolean(m.bot?.enabled);
    status.textContent = T.account.botInvalid;
    status.className = 'bot__status bot__status--error';
    amount.setAttribute('aria-invalid', 'true');
    announce(T.account.botInvalid);
    return;
  }
  status.textContent = T.account.botSaving;
  status.className = 'bot__status';
  let answer;
  try {
    const path = `/api/accounts/${encodeURIComponent(rp.number)}/meters/${encodeURIComponent(m.id)}/bot`;
    const body = { enabled: toggle.checked, amount: text, seal_epoch: m.bot?.seal_epoch ?? null };
    answer = await api('PUT', path, body);
    // An implausible amount is asked back: the resident confirms that very amount, or corrects it.
    if (answer.status === 'needs_confirmation') {
      if (!window.confirm(answer.question.message)) {
        toggle.checked = Boolean(m.bot?.enabled);
        status.textContent = '';
        amount.focus();
        return;
      }
      answer = await api('PUT', path, { ...body, confirm: text });
    }
  } catch (err) {
    if (err.redirected) return;
    toggle.checked = Boolean(m.bot?.enabled);
    status.textContent = err.message;
    status.className = 'bot__status bot__status--error';
    announce(err.message);
    return;
  }
  const fresh = answer.meter;
  rp.page.meters = rp.page.meters.map((x) => (x.id === fresh.id ? fresh : x));
  redrawMeter(rp, fresh.id);
  announce(fresh.bot?.enabled ? T.account.botEnabled(fresh.bot.amount, fresh.unit) : T.account.botDisabled);
}

// ---------------------------------------------------------------- #/account/<n>/meter/<id>

/** A meter's statistics: a chart of monthly consumption, its data table, and every submission. */
function viewMeter(root, number, meterId) {
  const back = h('p', { class: 'back' }, h('a', { href: `#/account/${encodeURIComponent(number)}` }, T.stats.back));
  root.append(back);
  const path = `/api/accounts/${encodeURIComponent(number)}/meters/${encodeURIComponent(meterId)}/history`;
  const h1 = viewHeading(root, T.stats.title(''));
  loadInto(root, () => api('GET', path), (data) => {
    const m = data.meter;
    h1.textContent = T.stats.title(m.serial_label);
    document.title = `${h1.textContent} — ${T.service}`;
    h1.after(h('p', { class: 'lead' }, noteText(m)));
    root.append(
      chartSection(data.months || [], m.unit),
      submissionsSection(data.submissions || []),
    );
  });
}

/** The chart with its caption and the table of the same numbers. */
function chartSection(months, unit) {
  const section = h('section', { class: 'section card', 'aria-labelledby': 'chart-heading' },
    h('h2', { id: 'chart-heading' }, `${T.stats.chart}, ${unit}`));
  if (!months.length) {
    section.append(h('p', {}, T.stats.chartEmpty));
    return section;
  }
  const holder = h('div', { class: 'chart' });
  section.append(holder, monthsTable(months, unit));
  const draw = () => holder.replaceChildren(barChart(months, unit, holder.clientWidth || 320));
  draw();
  if ('ResizeObserver' in window) {
    let last = holder.clientWidth;
    new ResizeObserver(() => {
      if (Math.abs(holder.clientWidth - last) > 8) {
        last = holder.clientWidth;
        draw();
      }
    }).observe(holder);
  } else {
    window.requestAnimationFrame(draw);
  }
  return section;
}

/** A "nice" axis step (1, 2 or 5 times a power of ten) giving about `ticks` divisions. */
function niceStep(range, ticks) {
  const raw = range / ticks || 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = [1, 2, 5, 10].find((k) => k * power >= raw) || 10;
  return unit * power;
}

/** Inline SVG bars of monthly consumption, sized to the container so its text stays readable. */
function barChart(months, unit, width) {
  const W = Math.max(280, Math.min(860, width));
  const H = 240;
  const pad = { top: 16, right: 24, bottom: 40, left: 52 };
  const values = months.map((x) => (x.consumption === null || x.consumption === undefined
    ? null : Number(x.consumption)));
  const known = values.filter((v) => v !== null && Number.isFinite(v));
  const max = Math.max(0, ...known);
  const min = Math.min(0, ...known);
  const step = niceStep(max - min || 1, 4);
  const top = Math.ceil(max / step) * step || step;
  const bottom = Math.floor(min / step) * step;
  const plotW = W - pad.left - pad.right;
  const plotH = H - pad.top - pad.bottom;
  const y = (v) => pad.top + plotH - ((v - bottom) / (top - bottom)) * plotH;
  const slot = plotW / months.length;
  const barW = Math.max(4, Math.min(48, slot * 0.6));
  const every = Math.ceil(58 / slot); // a label is about 50 px wide
  const maxAt = months[values.indexOf(max)];
  const minAt = months[values.indexOf(Math.min(...known))];
  const grid = [];
  for (let v = bottom; v <= top + step / 2; v += step) {
    grid.push(s('line', { x1: pad.left, x2: W - pad.right, y1: y(v), y2: y(v), class: v === 0 ? 'axis' : 'grid' }),
      s('text', { x: pad.left - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'tick' }, Number(v.toFixed(3))));
  }
  const bars = months.map((mo, i) => {
    const v = values[i];
    const cx = pad.left + slot * (i + 0.5);
    // Counted from the newest month, so it always has its label and none overlap.
    const label = (months.length - 1 - i) % every === 0 &&
      s('text', { x: cx, y: H - pad.bottom + 18, 'text-anchor': 'middle', class: 'tick' }, fmtMonth(mo.billing_month));
    if (v === null || !Number.isFinite(v)) return [label];
    const y0 = y(Math.max(0, v));
    const bh = Math.max(1, Math.abs(y(v) - y(0)));
    return [s('rect', { x: cx - barW / 2, y: y0, width: barW, height: bh, rx: 2,
      class: v < 0 ? 'bar bar--neg' : 'bar' }, s('title', {}, `${fmtMonth(mo.billing_month)}: ${mo.consumption} ${unit}`)), label];
  });
  return s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img',
    'aria-labelledby': 'chart-title chart-desc', class: 'chart__svg' },
  s('title', { id: 'chart-title' }, `${T.stats.chart}, ${unit}`),
  s('desc', { id: 'chart-desc' }, known.length
    ? T.stats.chartDesc(`${max} ${unit} (${fmtMonth(maxAt?.billing_month)})`,
      `${Math.min(...known)} ${unit} (${fmtMonth(minAt?.billing_month)})`)
    : T.stats.chartEmpty),
  s('text', { x: 4, y: 12, class: 'tick tick--unit' }, unit),
  grid, bars);
}

/** The chart's numbers as a table, for everyone who cannot see the chart. */
function monthsTable(months, unit) {
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'table table--compact', id: 'months' },
      h('caption', {}, `${T.stats.chartTable}, ${unit}`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, T.stats.month),
        h('th', { scope: 'col' }, T.stats.value),
        h('th', { scope: 'col' }, T.stats.consumption))),
      h('tbody', {}, months.map((mo) => h('tr', {},
        h('th', { scope: 'row' }, fmtMonth(mo.billing_month)),
        h('td', { class: 'num' }, mo.value ?? T.none),
        h('td', { class: 'num' }, mo.consumption ?? T.none))))));
}

/** Every submission, newest first as the API sends them. */
function submissionsSection(subs) {
  const c = T.stats.cols;
  const section = h('section', { class: 'section', 'aria-labelledby': 'subs-heading' },
    h('h2', { id: 'subs-heading' }, T.stats.submissions),
    h('p', { class: 'muted' }, T.stats.submissionsIntro));
  if (!subs.length) {
    section.append(h('p', { class: 'notice' }, T.stats.noSubmissions));
    return section;
  }
  const cols = [c.value, c.month, c.at, c.channel, c.source, c.warnings];
  section.append(h('div', { class: 'table-wrap' },
    withTableRoles(h('table', { class: 'table table--stack', id: 'submissions' },
      h('thead', {}, h('tr', {}, cols.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, subs.map((x) => h('tr', {},
        h('td', { 'data-label': c.value, class: 'num' }, x.value),
        h('td', { 'data-label': c.month }, fmtMonth(x.billing_month)),
        h('td', { 'data-label': c.at }, fmtDateTime(x.at)),
        h('td', { 'data-label': c.channel }, T.channels[x.channel] || x.channel),
        h('td', { 'data-label': c.source }, x.source || T.none),
        h('td', { 'data-label': c.warnings }, (x.warnings || []).length
          ? h('ul', { class: 'warnings' }, x.warnings.map((w) => h('li', { class: 'warning' }, w.message)))
          : T.none))))))));
  return section;
}

// ---------------------------------------------------------------- start

/** Recover the session from /api/me, then route; a network failure offers a retry. */
async function start() {
  const main = document.getElementById('main');
  try {
    state.session = await api('GET', '/api/me', undefined, { quiet401: true });
  } catch (err) {
    state.session = null;
    if (err.status === 0 || err.status >= 500) {
      main.replaceChildren(h('div', { class: 'view' }, h('h1', {}, T.service), errorBlock(err, () => start())));
      return;
    }
  }
  route();
  route.navigated = true;
}

window.addEventListener('hashchange', () => route());
start();

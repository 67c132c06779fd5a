/**
 * What the page remembers: the session (from the API), the address chosen for work, and the readings
 * typed but not yet saved (on this device, so an expired session, a closed tab or a closed window
 * loses nothing). Forgotten at sign-out: a shared phone must not show the last resident's numbers.
 */

const CHOSEN_KEY = 'ekc.chosenAccount';
const DRAFTS_KEY = 'ekc.drafts';
const DRAFT_DAYS = 14;

/** Everything the page remembers between views. */
export const state = {
  session: null, // GET /api/me's answer
  returnTo: null, // where to go after signing in
  expired: null, // {qr: bool} when a session ran out under the resident
  flash: null, // a confirmation to show on the next view
  config: null, // GET /api/config's answer
};

function read(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value === null) window.localStorage.removeItem(key);
    else window.localStorage.setItem(key, value);
  } catch {
    // Private browsing may refuse storage; then the page remembers for this visit only.
  }
}

/** The account number chosen for work, as remembered on this device. */
export function getChosen() {
  return read(CHOSEN_KEY);
}

/** Remember (or forget, with null) the account chosen for work. */
export function setChosen(number) {
  write(CHOSEN_KEY, number || null);
}

function allDrafts() {
  try {
    const parsed = JSON.parse(read(DRAFTS_KEY) || '{}');
    return parsed && typeof parsed === 'object' ? parsed : {};
  } catch {
    return {};
  }
}

/** The unsaved readings of an account: {meterId: {text, month, question?, at}}, old ones dropped. */
export function loadDrafts(account) {
  const oldest = Date.now() - DRAFT_DAYS * 86400000;
  const mine = allDrafts()[account] || {};
  return Object.fromEntries(Object.entries(mine).filter(([, d]) => d && typeof d.text === 'string' && d.at > oldest));
}

/** Keep (or drop, with null) one meter's unsaved reading. */
export function saveDraft(account, meterId, entry) {
  const drafts = allDrafts();
  const mine = { ...(drafts[account] || {}) };
  if (entry) mine[meterId] = { ...entry, at: Date.now() };
  else delete mine[meterId];
  if (Object.keys(mine).length) drafts[account] = mine;
  else delete drafts[account];
  write(DRAFTS_KEY, Object.keys(drafts).length ? JSON.stringify(drafts) : null);
}

/** Forget everything typed on this device (sign-out). */
export function clearDrafts() {
  write(DRAFTS_KEY, null);
}

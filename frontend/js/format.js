/**
 * How the page writes what the API sends as machine values: readings as residents write them
 * ("6116", "6200,5"), dates as dd/mm/yyyy in Kyiv time. Sentences come from the API itself.
 */

import { T } from './texts.js';

const KYIV_PARTS = (() => {
  try {
    return new Intl.DateTimeFormat('uk-UA', {
      timeZone: 'Europe/Kyiv',
      year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    });
  } catch {
    return null;
  }
})();

/** ISO timestamp -> "dd/mm/yyyy о hh:mm" in Kyiv time. */
export function fmtDateTime(iso) {
  const date = new Date(iso);
  if (!iso || Number.isNaN(date.getTime())) return iso || T.none;
  if (!KYIV_PARTS) return date.toLocaleString('uk-UA');
  const p = Object.fromEntries(KYIV_PARTS.formatToParts(date).map((x) => [x.type, x.value]));
  return `${p.day}/${p.month}/${p.year} о ${p.hour}:${p.minute}`;
}

/** "2027-11-08" -> "08/11/2027". */
export function fmtDate(isoDate) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(isoDate || '');
  return m ? `${m[3]}/${m[2]}/${m[1]}` : isoDate || T.none;
}

/** "2026-11" -> "11/2026". */
export function fmtMonth(month) {
  const m = /^(\d{4})-(\d{2})$/.exec(month || '');
  return m ? `${m[2]}/${m[1]}` : month || T.none;
}

/** "6200.500" -> "6200,5"; "6116.000" -> "6116"; a minus as the minus sign. */
export function fmtNumber(text) {
  if (text === null || text === undefined || text === '') return T.none;
  const [whole, fraction = ''] = String(text).replace('-', '').split('.');
  const trimmed = fraction.replace(/0+$/, '');
  const sign = String(text).startsWith('-') ? '−' : '';
  return `${sign}${whole}${trimmed ? `,${trimmed}` : ''}`;
}

/** A value with its unit: "201 м³". */
export function withUnit(text, unit) {
  return `${fmtNumber(text)} ${unit}`;
}

/**
 * A typed reading as thousandths, for the consumption preview only ("6 200,5" -> 6200500), or null.
 * Whether a value is acceptable is the API's to say, row by row: nothing here refuses anything.
 */
export function typedMilli(raw) {
  const text = String(raw ?? '').replace(/[\s\u00a0\u202f]/g, '').replace(',', '.');
  const m = /^(\d{1,12})(?:\.(\d{0,3}))?$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 1000 + Number(((m[2] || '') + '000').slice(0, 3));
}

/** Thousandths -> "84,5". */
export function milliText(milli) {
  const sign = milli < 0 ? '-' : '';
  const abs = Math.abs(milli);
  return fmtNumber(`${sign}${Math.floor(abs / 1000)}.${String(abs % 1000).padStart(3, '0')}`);
}

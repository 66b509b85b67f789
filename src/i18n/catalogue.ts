/**
 * The message catalogues (one per language, en.ts is the reference) and the few helpers
 * that turn a catalogue text into page HTML or mail text: placeholders, plural forms and
 * durations. Pages and mails never hold words of their own.
 */
import { escapeHtml } from '../lib/html.js';
import type { Language } from './languages.js';
import { en } from './messages/en.js';
import { de } from './messages/de.js';
import { fr } from './messages/fr.js';

export type Catalogue = typeof en;

/** Plural forms; `{n}` is the number. */
export interface PluralText {
  readonly one: string;
  readonly other: string;
}

const CATALOGUES: Readonly<Record<Language, Catalogue>> = { en, de, fr };

/** The catalogue of `language`. */
export function messagesFor(language: Language): Catalogue {
  return CATALOGUES[language];
}

/** Every catalogue by language (for tests that compare them). */
export function allCatalogues(): Readonly<Record<Language, Catalogue>> {
  return CATALOGUES;
}

/** Plain text: `{name}` placeholders replaced by the values as they are. For mails and subjects. */
export function fillText(template: string, values: Readonly<Record<string, string | number>> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));
}

/** A trusted HTML fragment, made only by `html` helpers (escaped text or markup of ours). */
export interface Html {
  readonly html: string;
}

/** Text made safe for HTML. */
export function escaped(text: string): Html {
  return { html: escapeHtml(text) };
}

/** Text shown bold (`<strong>`), escaped. */
export function strong(text: string): Html {
  return { html: `<strong>${escapeHtml(text)}</strong>` };
}

/**
 * HTML: the template is escaped, then `{name}` placeholders become the given fragments
 * (strings are escaped too). A translation can never inject markup.
 */
export function fillHtml(template: string, values: Readonly<Record<string, Html | string | number>> = {}): string {
  return escapeHtml(template).replace(/\{(\w+)\}/g, (whole, name: string) => {
    if (!(name in values)) return whole;
    const value = values[name]!;
    return typeof value === 'object' ? value.html : escapeHtml(String(value));
  });
}

const pluralRules = new Map<Language, Intl.PluralRules>();

/** The plural form for `n` in `language`, with `{n}` filled in. */
export function plural(language: Language, forms: PluralText, n: number): string {
  let rules = pluralRules.get(language);
  if (!rules) {
    rules = new Intl.PluralRules(language);
    pluralRules.set(language, rules);
  }
  // Only "one" and "other" are kept: our numbers are small, and French "many" (1 000 000) reads as "other".
  const form = rules.select(n) === 'one' ? forms.one : forms.other;
  return fillText(form, { n });
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/**
 * How long something still lasts, to the nearest minute: "10 minutes", "less than a
 * minute" (never "0 minutes"); minutes up to two hours, then hours, then days.
 */
export function describeRemaining(language: Language, ms: number): string {
  const t = messagesFor(language).duration;
  const minutes = Math.round(ms / MINUTE);
  if (minutes < 1) return t.lessThanAMinute;
  if (minutes < 120) return plural(language, t.minutes, minutes);
  const hours = Math.round(ms / HOUR);
  if (hours < 48) return plural(language, t.hours, hours);
  return plural(language, t.days, Math.round(ms / DAY));
}

/**
 * How long to wait, rounded up so a guest never tries too early: seconds under a minute,
 * then minutes, hours and days.
 */
export function describeWait(language: Language, ms: number): string {
  const t = messagesFor(language).duration;
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  if (seconds < 60) return plural(language, t.seconds, seconds);
  const minutes = Math.ceil(ms / MINUTE);
  if (minutes < 120) return plural(language, t.minutes, minutes);
  const hours = Math.ceil(ms / HOUR);
  if (hours < 48) return plural(language, t.hours, hours);
  return plural(language, t.days, Math.ceil(ms / DAY));
}

/**
 * A moment as the guest's language writes it, in UTC (we do not know their time zone):
 * "1 December 2026 at 14:22 UTC". English uses the day-month order and 24-hour clock
 * read everywhere, not the US one.
 */
export function describeMoment(language: Language, at: Date): string {
  let format = momentFormats.get(language);
  if (!format) {
    format = new Intl.DateTimeFormat(language === 'en' ? 'en-GB' : language, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });
    momentFormats.set(language, format);
  }
  return `${format.format(at)} UTC`;
}

// Making a formatter costs far more than using one: one per language, kept.
const momentFormats = new Map<Language, Intl.DateTimeFormat>();

/**
 * The languages of the pages and mails, and how one is chosen for a request: the configured
 * `branding.language`, or else the browser's `Accept-Language` (RFC 9110 section 12.5.4),
 * else English.
 */

export const LANGUAGES = ['en', 'de', 'fr'] as const;
export type Language = (typeof LANGUAGES)[number];
/** `branding.language`: a language, or `auto` to follow the browser. */
export type LanguageSetting = Language | 'auto';

function isLanguage(tag: string): tag is Language {
  return (LANGUAGES as readonly string[]).includes(tag);
}

/**
 * The language to answer in. `de-CH` counts as `de`; `q=0` means "not this one"; among
 * equal weights the first listed wins; `*` or nothing we know falls back to English.
 */
export function chooseLanguage(acceptLanguage: string | undefined, setting: LanguageSetting): Language {
  if (setting !== 'auto') return setting;
  if (!acceptLanguage) return 'en';
  let best: Language = 'en';
  let bestWeight = 0;
  // A hostile header can be long: look at the first few entries only.
  for (const entry of acceptLanguage.split(',', 20)) {
    const [rangeText = '', ...params] = entry.split(';');
    const primary = rangeText.trim().toLowerCase().split('-')[0]!;
    let weight = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((part) => part.trim());
      if (name === 'q') weight = Number(value);
    }
    if (!Number.isFinite(weight) || weight <= 0 || weight > 1) continue;
    if (isLanguage(primary) && weight > bestWeight) {
      best = primary;
      bestWeight = weight;
    }
  }
  return best;
}

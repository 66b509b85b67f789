/**
 * A short human name for a browser from its User-Agent ("Chrome", "Android"), for the code
 * mail's "who asked" lines. It is a hint for a person, not a security decision: a client can
 * claim any User-Agent, and the mail shows the client address beside it.
 *
 * Order matters: Edge, Opera and Samsung Internet also say "Chrome", and Chrome says "Safari".
 */

const BROWSERS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\bEdg(?:e|A|iOS)?\//, 'Edge'],
  [/\b(?:OPR|Opera)\//, 'Opera'],
  [/\bSamsungBrowser\//, 'Samsung Internet'],
  [/\bVivaldi\//, 'Vivaldi'],
  // Automated browsers say so; worth showing in a code mail (a relay attack may run one).
  [/\bHeadlessChrome\//, 'Headless Chrome'],
  [/\b(?:Firefox|FxiOS)\//, 'Firefox'],
  [/\b(?:Chrome|Chromium|CriOS)\//, 'Chrome'],
  [/\bVersion\/[\d.]+.*\bSafari\//, 'Safari'],
  [/\bcurl\//, 'curl'],
];

const SYSTEMS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\b(?:iPhone|iPad|iPod)\b/, 'iOS'],
  [/\bAndroid\b/, 'Android'],
  [/\bCrOS\b/, 'ChromeOS'],
  [/\bWindows\b/, 'Windows'],
  [/\bMac OS X\b|\bMacintosh\b/, 'macOS'],
  [/\bLinux\b/, 'Linux'],
];

export interface DescribedUserAgent {
  /** Undefined when nothing we know is named. */
  readonly browser?: string;
  readonly system?: string;
}

export function describeUserAgent(userAgent: string | undefined): DescribedUserAgent {
  // Long hostile headers: the names we look for are near the start.
  const text = (userAgent ?? '').slice(0, 512);
  return {
    browser: BROWSERS.find(([pattern]) => pattern.test(text))?.[1],
    system: SYSTEMS.find(([pattern]) => pattern.test(text))?.[1],
  };
}

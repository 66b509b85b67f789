/**
 * Colours derived from `branding.color` so that any colour an operator picks stays readable
 * (WCAG 2.2 contrast, 4.5:1 for text): the text on a brand-coloured button, and the link
 * colour on the light and the dark card. Computed once per config, served as brand.css.
 */

type Rgb = readonly [number, number, number];

/** `#rgb` or `#rrggbb` (the schema allows nothing else). */
export function parseHexColor(hex: string): Rgb {
  const digits = hex.slice(1);
  const full = digits.length === 3 ? [...digits].map((d) => d + d).join('') : digits;
  return [0, 2, 4].map((at) => Number.parseInt(full.slice(at, at + 2), 16)) as unknown as Rgb;
}

function toHex(rgb: Rgb): string {
  return `#${rgb.map((channel) => Math.round(channel).toString(16).padStart(2, '0')).join('')}`;
}

/** WCAG relative luminance. */
function luminance([r, g, b]: Rgb): number {
  const linear = (channel: number) => {
    const c = channel / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrastRatio(a: string, b: string): number {
  const [light, dark] = [luminance(parseHexColor(a)), luminance(parseHexColor(b))].sort((x, y) => y - x) as [number, number];
  return (light + 0.05) / (dark + 0.05);
}

function mix(from: Rgb, to: Rgb, amount: number): Rgb {
  return from.map((channel, i) => channel + (to[i]! - channel) * amount) as unknown as Rgb;
}

/** `color`, moved towards black or white just enough to reach `ratio` against `background`. */
export function withContrast(color: string, background: string, ratio = 4.5): string {
  if (contrastRatio(color, background) >= ratio) return color.toLowerCase();
  const target: Rgb = luminance(parseHexColor(background)) > 0.5 ? [0, 0, 0] : [255, 255, 255];
  const start = parseHexColor(color);
  for (let step = 1; step <= 20; step += 1) {
    const candidate = toHex(mix(start, target, step / 20));
    if (contrastRatio(candidate, background) >= ratio) return candidate;
  }
  return toHex(target);
}

/** The card colours of stylesheet.ts, light and dark. */
export const CARD_LIGHT = '#ffffff';
export const CARD_DARK = '#1f2937';
const TEXT_LIGHT = '#ffffff';
// Pure black: for mid-tone brands only black or white reaches 4.5:1, and one of them always does.
const TEXT_DARK = '#000000';

export interface BrandColors {
  readonly brand: string;
  /** Text on a brand-coloured button. */
  readonly onBrand: string;
  readonly linkLight: string;
  readonly linkDark: string;
}

export function deriveBrandColors(brand: string): BrandColors {
  const onBrand = contrastRatio(brand, TEXT_LIGHT) >= contrastRatio(brand, TEXT_DARK) ? TEXT_LIGHT : TEXT_DARK;
  return {
    brand: brand.toLowerCase(),
    onBrand,
    linkLight: withContrast(brand, CARD_LIGHT),
    linkDark: withContrast(brand, CARD_DARK),
  };
}

/**
 * What every gateway page must be, checked in the real browser on the page as a guest sees
 * it: no serious or critical accessibility violation (axe-core, light and dark), nothing
 * wider than a 360 px phone, and screenshots at 360 and 1280 px for people to look at
 * (test-output/screenshots/, git-ignored).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';

export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-output/screenshots/', import.meta.url));
const WIDTHS = [360, 1280] as const;

async function seriousViolations(page: Page, rules?: string[]): Promise<string[]> {
  const builder = new AxeBuilder({ page });
  if (rules) builder.withRules(rules);
  const results = await builder.analyze();
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
}

/**
 * Checks the page the browser shows now and saves its screenshots as `<name>-<width>.png`
 * (and `<name>-dark-360.png`). The viewport and colour scheme are restored afterwards.
 */
export async function inspectPage(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const viewport = page.viewportSize() ?? { width: 1280, height: 800 };
  try {
    assert.deepEqual(await seriousViolations(page), [], `${name}: axe-core violations`);
    for (const width of WIDTHS) {
      await page.setViewportSize({ width, height: width === 360 ? 740 : 800 });
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(scrollWidth <= width, `${name}: ${scrollWidth} px wide on a ${width} px screen`);
      await page.screenshot({ path: `${SCREENSHOT_DIR}${name}-${width}.png`, fullPage: true });
    }
    await page.setViewportSize({ width: 360, height: 740 });
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.deepEqual(await seriousViolations(page, ['color-contrast']), [], `${name}: contrast in dark mode`);
    await page.screenshot({ path: `${SCREENSHOT_DIR}${name}-dark-360.png`, fullPage: true });
  } finally {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setViewportSize(viewport);
  }
}

/** Any brand colour an operator picks stays readable: button text, and links on light and dark cards (WCAG 4.5:1). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CARD_DARK, CARD_LIGHT, contrastRatio, deriveBrandColors } from '../../src/http/brand-colors.js';

test('the contrast ratio is WCAG\'s: black on white is 21, a colour on itself is 1', () => {
  assert.equal(Math.round(contrastRatio('#000000', '#ffffff')), 21);
  assert.equal(contrastRatio('#2563eb', '#2563eb'), 1);
  assert.ok(Math.abs(contrastRatio('#2563eb', '#ffffff') - 5.17) < 0.01);
});

test('for every colour of a coarse grid, the derived colours reach 4.5:1 where they are used', () => {
  const steps = ['00', '33', '66', '99', 'cc', 'ff'];
  for (const r of steps) for (const g of steps) for (const b of steps) {
    const brand = `#${r}${g}${b}`;
    const colors = deriveBrandColors(brand);
    assert.ok(contrastRatio(colors.onBrand, brand) >= 4.5, `${brand}: button text ${colors.onBrand}`);
    assert.ok(contrastRatio(colors.linkLight, CARD_LIGHT) >= 4.5, `${brand}: link on light ${colors.linkLight}`);
    assert.ok(contrastRatio(colors.linkDark, CARD_DARK) >= 4.5, `${brand}: link on dark ${colors.linkDark}`);
  }
});

test('a colour that is already readable is kept as configured; a short #rgb is understood', () => {
  assert.equal(deriveBrandColors('#1D4ED8').linkLight, '#1d4ed8');
  assert.equal(deriveBrandColors('#fff').onBrand, '#000000');
  assert.equal(deriveBrandColors('#2563eb').onBrand, '#ffffff');
});

/**
 * The message catalogues: every language has every key of the English one, in the same
 * shape, with the same placeholders and no empty text; and the language a request gets.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { allCatalogues, describeRemaining, describeWait, fillHtml, plural, strong } from '../../src/i18n/catalogue.js';
import { chooseLanguage, LANGUAGES } from '../../src/i18n/languages.js';

type Tree = { readonly [key: string]: string | Tree };

/** Every leaf as `path → text`. */
function leaves(tree: Tree, prefix = ''): Map<string, string> {
  const found = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string') found.set(path, value);
    else for (const [inner, text] of leaves(value, path)) found.set(inner, text);
  }
  return found;
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((match) => match[1]).sort();

describe('catalogues', () => {
  const catalogues = allCatalogues();
  const reference = leaves(catalogues.en as unknown as Tree);

  test('there are catalogues for English, German and French', () => {
    assert.deepEqual(Object.keys(catalogues).sort(), [...LANGUAGES].sort());
    assert.ok(reference.size > 100, `${reference.size} texts`);
  });

  for (const language of LANGUAGES) {
    test(`${language} has every key of en, no other, and the same placeholders in each text`, () => {
      const texts = leaves(catalogues[language] as unknown as Tree);
      assert.deepEqual([...texts.keys()].sort(), [...reference.keys()].sort());
      for (const [path, english] of reference) {
        const text = texts.get(path)!;
        assert.notEqual(text.trim(), '', `${language} ${path} is empty`);
        // `{n}` of a plural form may be written out in the singular ("1 more try").
        const expected = placeholders(english).filter((name) => !(path.endsWith('.one') && name === 'n'));
        assert.deepEqual(placeholders(text).filter((name) => !(path.endsWith('.one') && name === 'n')), expected, `${language} ${path}`);
      }
    });
  }

  test('a translation cannot inject markup: texts are escaped, only the values put in are HTML', () => {
    assert.equal(fillHtml('<b>{email}</b> & {app}', { email: strong('a<b>@x.test'), app: '"A&B"' }), '&lt;b&gt;<strong>a&lt;b&gt;@x.test</strong>&lt;/b&gt; &amp; &quot;A&amp;B&quot;');
  });
});

describe('plurals and durations', () => {
  const cases: Array<[string, string]> = [
    [plural('en', { one: '{n} try', other: '{n} tries' }, 1), '1 try'],
    [plural('en', { one: '{n} try', other: '{n} tries' }, 4), '4 tries'],
    [plural('fr', { one: '{n} essai', other: '{n} essais' }, 0), '0 essai'],
    [plural('fr', { one: '{n} essai', other: '{n} essais' }, 1_000_000), '1000000 essais'],
    [describeRemaining('en', 10 * 60_000), '10 minutes'],
    [describeRemaining('en', 9 * 60_000 + 59_000), '10 minutes'],
    [describeRemaining('en', 20_000), 'less than a minute'],
    [describeRemaining('en', 60_000), '1 minute'],
    [describeRemaining('de', 3 * 3_600_000), '3 Stunden'],
    [describeRemaining('fr', 3 * 86_400_000), '3 jours'],
    [describeWait('en', 200), '1 second'],
    [describeWait('en', 29_100), '30 seconds'],
    [describeWait('en', 61_000), '2 minutes'],
    [describeWait('de', 59 * 60_000 + 1), '60 Minuten'],
    [describeWait('fr', 25_000), '25 secondes'],
  ];
  cases.forEach(([actual, expected], index) => {
    test(`case ${index + 1}: "${expected}"`, () => assert.equal(actual, expected));
  });

  test('no duration ever reads "0 minutes" or "0 seconds"', () => {
    for (const language of LANGUAGES) {
      for (const ms of [0, 1, 499, 29_999, 30_000]) {
        assert.doesNotMatch(describeRemaining(language, ms), /^0 /, `${language} remaining ${ms}`);
        assert.doesNotMatch(describeWait(language, ms), /^0 /, `${language} wait ${ms}`);
      }
    }
  });
});

describe('chooseLanguage', () => {
  const cases: Array<[string | undefined, 'auto' | 'en' | 'de' | 'fr', string]> = [
    [undefined, 'auto', 'en'],
    ['', 'auto', 'en'],
    ['de-DE,de;q=0.9,en;q=0.8', 'auto', 'de'],
    ['fr-CH, fr;q=0.9, en;q=0.8', 'auto', 'fr'],
    ['es-ES,es;q=0.9', 'auto', 'en'],
    ['es-ES,es;q=0.9,de;q=0.5', 'auto', 'de'],
    ['en;q=0.4,fr;q=0.7', 'auto', 'fr'],
    ['de;q=0,fr', 'auto', 'fr'],
    ['*', 'auto', 'en'],
    ['de;q=abc,fr;q=0.2', 'auto', 'fr'],
    ['DE', 'auto', 'de'],
    ['de-DE', 'fr', 'fr'],
    [undefined, 'de', 'de'],
  ];
  for (const [header, setting, expected] of cases) {
    test(`Accept-Language ${JSON.stringify(header)} with branding.language ${setting} gives ${expected}`, () => {
      assert.equal(chooseLanguage(header, setting), expected);
    });
  }

  test('only the first 20 entries of a long header are read', () => {
    assert.equal(chooseLanguage(`${'xx;q=0.1,'.repeat(20)}de`, 'auto'), 'en');
    assert.equal(chooseLanguage(`${'xx;q=0.1,'.repeat(19)}de`, 'auto'), 'de');
  });
});

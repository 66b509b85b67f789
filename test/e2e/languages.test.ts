/**
 * A German and a French guest, each in a Chromium set to their language: the pages and the
 * code mail speak it, `<html lang>` says so, and the error pages do too.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { useE2eWorld } from './e2e-world.js';
import { assertInApp, heading, typeInto } from './guest.js';
import { inspectPage } from './inspect-page.js';
import { wrongCode } from '../helpers/codes.js';

const GUESTS = [
  {
    locale: 'de-DE',
    language: 'de',
    email: 'anna@example.com',
    emailLabel: 'E-Mail-Adresse',
    codeLabel: 'Anmeldecode',
    loginTitle: 'Bei Team Wiki anmelden',
    codeTitle: 'Prüfen Sie Ihr Postfach',
    lead: /Geben Sie den Code ein, den wir an anna@example\.com geschickt haben\. Der Code gilt 10 Minuten lang\./,
    subject: (code: string) => `${code} ist Ihr Anmeldecode für Team Wiki`,
    mailLines: [/Geben Sie diesen Code niemals weiter/, /Browser: +Headless Chrome auf Linux/],
    wrong: 'Dieser Code stimmt nicht. Sie haben noch 4 Versuche.',
    signedOut: 'Sie sind abgemeldet',
    notFound: 'Seite nicht gefunden',
    // On a phone, with taps.
    screen: { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true },
  },
  {
    locale: 'fr-FR',
    language: 'fr',
    email: 'chloe@example.com',
    emailLabel: 'Adresse e-mail',
    codeLabel: 'Code de connexion',
    loginTitle: 'Se connecter à Team Wiki',
    codeTitle: 'Consultez vos e-mails',
    lead: /Saisissez le code que nous avons envoyé à chloe@example\.com\. Le code est valable 10 minutes\./,
    subject: (code: string) => `${code} est votre code de connexion pour Team Wiki`,
    mailLines: [/Ne donnez jamais ce code à personne/, /Navigateur\u00a0?: +Headless Chrome sous Linux/],
    wrong: 'Ce code n’est pas le bon. Il vous reste 4 essais.',
    signedOut: 'Vous êtes déconnecté',
    notFound: 'Page introuvable',
    screen: { viewport: { width: 1280, height: 800 } },
  },
] as const;

describe('guests in their own language, in Chromium', () => {
  const suite = useE2eWorld();
  const { skip } = suite;

  for (const guest of GUESTS) {
    test(`a ${guest.locale} browser gets ${guest.language} pages and mail from the email form to the app and out`, { skip }, async () => {
      const deepLink = suite.world.url('wiki', `/${guest.language}/start?x=1`);
      const { context, page } = await suite.openPage(deepLink, { locale: guest.locale, ...guest.screen });
      assert.equal(await page.getAttribute('html', 'lang'), guest.language);
      assert.equal(await heading(page), guest.loginTitle);
      await inspectPage(page, `login-${guest.language}`);

      await typeInto(page, guest.emailLabel, guest.email);
      await Promise.all([page.waitForURL(/\/\.gatehouse\/code\?/), page.keyboard.press('Enter')]);
      assert.equal(await heading(page), guest.codeTitle);
      assert.match(await page.locator('main').innerText(), guest.lead);
      const mail = await suite.world.mailTo(guest.email);
      assert.equal(mail.subject, guest.subject(mail.code));
      for (const line of guest.mailLines) assert.match(mail.text, line);
      assert.match(mail.html, new RegExp(`<html lang="${guest.language}">`));

      await typeInto(page, guest.codeLabel, wrongCode(mail.code));
      await Promise.all([page.waitForEvent('load'), page.keyboard.press('Enter')]);
      assert.equal(await page.locator('#code-error').innerText(), guest.wrong);
      await inspectPage(page, `code-wrong-${guest.language}`);
      await typeInto(page, guest.codeLabel, mail.code);
      await Promise.all([page.waitForURL(deepLink), page.keyboard.press('Enter')]);
      await assertInApp(page, deepLink, guest.email);
      await page.getByRole('link', { name: 'Sign out' }).click();
      assert.equal(await heading(page), guest.signedOut);
      await inspectPage(page, `signed-out-${guest.language}`);

      await page.goto(suite.world.url('nowhere', '/'));
      assert.equal(await heading(page), guest.notFound);
      await context.close();
    });
  }
});

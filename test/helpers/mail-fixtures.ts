/** One sign-in code mail as the sign-in flow hands it to a notifier, for the mail tests. */
import type { SignInCodeMail } from '../../src/mail/notifier.js';

export const SAMPLE_REQUESTED_AT = new Date('2024-05-01T14:22:00Z');

export function sampleSignInCodeMail(overrides: Partial<SignInCodeMail> = {}): SignInCodeMail {
  return {
    to: 'guest@partner.example',
    code: '482913',
    language: 'en',
    appName: 'Wiki',
    siteOrigin: 'https://wiki.example.com',
    codePageUrl: 'https://wiki.example.com/.gatehouse/code?rd=%2F',
    requestedAt: SAMPLE_REQUESTED_AT,
    expiresAt: new Date(SAMPLE_REQUESTED_AT.getTime() + 10 * 60_000),
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    clientAddress: '203.0.113.7',
    requestId: 'req-42',
    ...overrides,
  };
}

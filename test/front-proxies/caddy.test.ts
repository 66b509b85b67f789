/**
 * Caddy (Debian's, `forward_auth`) in front of an app, running config/Caddyfile, with the
 * gateway beside it signing with the key ring it made itself.
 */
import { describe } from 'node:test';
import { useFrontProxyWorld } from './front-proxy-world.js';
import { frontProxyScenarios } from './scenarios.js';

describe('Caddy forward_auth in front of an app (config/Caddyfile)', () => {
  frontProxyScenarios(useFrontProxyWorld('caddy'));
});

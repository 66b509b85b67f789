/**
 * nginx (Debian's, `auth_request`) in front of an app, running config/nginx/gatehouse.conf,
 * with the gateway beside it signing with `assertion.key_file`.
 */
import { describe } from 'node:test';
import { useFrontProxyWorld } from './front-proxy-world.js';
import { frontProxyScenarios } from './scenarios.js';

describe('nginx auth_request in front of an app (config/nginx/gatehouse.conf)', () => {
  frontProxyScenarios(useFrontProxyWorld('nginx'));
});

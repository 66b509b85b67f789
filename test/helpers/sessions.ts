/** Sessions for tests, made through the session owner under names the test chooses. */
import { createSessions, type Sessions, type SessionTimeouts } from '../../src/session/sessions.js';
import type { Clock, KeyValueStore } from '../../src/store/key-value-store.js';

export interface NamedSessions {
  readonly sessions: Sessions;
  /** The owner's timeouts, changeable by the test. */
  readonly timeouts: { lifetime: number; idle_timeout: number | null };
  /** Starts a session with id `id` (as `create` would, under a chosen name). */
  startAs(id: string, email: string, signedInAt: number): Promise<string>;
}

export function namedSessions(kv: KeyValueStore, options: { clock?: Clock; timeouts?: Partial<SessionTimeouts> } = {}): NamedSessions {
  const names: string[] = [];
  const timeouts = { lifetime: 3_600_000, idle_timeout: null as number | null, ...options.timeouts };
  const sessions = createSessions(kv, {
    timeouts: () => timeouts,
    clock: options.clock,
    newSessionId: () => {
      const name = names.shift();
      if (name === undefined) throw new Error('namedSessions: use startAs');
      return name;
    },
  });
  return {
    sessions,
    timeouts,
    async startAs(id, email, signedInAt) {
      names.push(id);
      return sessions.create({ email, signedInAt });
    },
  };
}

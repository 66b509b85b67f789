/**
 * With `workers` > 1 the primary owns the guests' listener and hands each connection to a
 * worker itself, instead of node:cluster's round-robin scheduler.
 *
 * node:cluster keeps the primary's copy of a connection open until the worker it is handed to
 * acknowledges it, and does nothing when that worker dies in the moment (SIGKILL, an
 * out-of-memory kill): the client waits for an answer that never comes, until its own
 * timeout. Here the primary keeps its copy until the worker says it took the connection, and
 * hands a connection a dead worker never took to another one. The primary never reads from a
 * connection (`pauseOnConnect`), so one handed on a second time has lost nothing.
 *
 * A worker acknowledges in the same tick as it receives the connection, before it reads
 * from it: once the acknowledgement is on its way, the connection is the worker's alone.
 */
import net from 'node:net';

export interface ConnectionMessage {
  readonly type: 'gatehouse.connection';
  readonly id: number;
}
export interface ConnectionReply {
  readonly type: 'gatehouse.connection.taken' | 'gatehouse.connection.refused';
  readonly id: number;
}

export function isConnectionMessage(message: unknown): message is ConnectionMessage {
  return typeOf(message) === 'gatehouse.connection' && typeof (message as { id?: unknown }).id === 'number';
}

export function isConnectionReply(message: unknown): message is ConnectionReply {
  const type = typeOf(message);
  return (type === 'gatehouse.connection.taken' || type === 'gatehouse.connection.refused') && typeof (message as { id?: unknown }).id === 'number';
}

function typeOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null ? (message as { type?: unknown }).type : undefined;
}

/** The part of a cluster worker the handoff uses (node:cluster's `Worker` is one). */
export interface ConnectionTaker {
  readonly id: number;
  isConnected(): boolean;
  isDead(): boolean;
  send(message: ConnectionMessage, socket: net.Socket, options: { keepOpen: boolean }, callback: (error: Error | null) => void): boolean;
}

/** How often one connection is handed out before the primary gives up on it and closes it. */
export const MAX_HANDOFFS = 3;
/** How long a connection waits for a worker when none is running, before it is answered 503. */
export const WAIT_FOR_WORKER_MS = 10_000;

const NO_WORKER_ANSWER = (() => {
  const body = 'The gateway is restarting. Try again in a moment.\n';
  return `HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
})();

interface Connection {
  readonly socket: net.Socket;
  handoffs: number;
  waitTimer?: NodeJS.Timeout;
}

export interface ConnectionHandoff {
  /** Listens for guests; rejects with the listen error (port taken, no such address). */
  listen(address: { host: string; port: number }): Promise<number>;
  /** A worker that is ready to serve joins the rotation; waiting connections go to it. */
  addWorker(worker: ConnectionTaker): void;
  /**
   * A worker that is gone: the connections it had not taken go to another worker. Call it
   * once the worker's channel has been read to its end (on `disconnect`, or a moment after
   * `exit`), so an acknowledgement the worker sent just before dying is not missed and its
   * connection, which it may have half read, is not handed out again. Calling it again for
   * the same worker does nothing.
   */
  removeWorker(workerId: number): void;
  /** A worker's answer to a handed connection. */
  handleReply(workerId: number, reply: ConnectionReply): void;
  /** Stops accepting. Connections already handed out stay with their workers. */
  close(): void;
  /** For tests: connections not yet taken by a worker, and those waiting for one. */
  counts(): { handing: number; waiting: number };
}

export function createConnectionHandoff(): ConnectionHandoff {
  const server = net.createServer({ pauseOnConnect: true, noDelay: true });
  const workers: ConnectionTaker[] = [];
  /** Per worker id: the connections sent to it that it has not acknowledged yet. */
  const handing = new Map<number, Map<number, Connection>>();
  const waiting: Connection[] = [];
  /** Workers whose channel failed a send: they are going, and get nothing more. */
  const failing = new Set<number>();
  let nextWorker = 0;
  let nextId = 0;
  let closed = false;

  server.on('connection', (socket: net.Socket) => {
    // The primary never reads or writes a handed socket; an error on it is the worker's to see.
    socket.on('error', () => socket.destroy());
    handOut({ socket, handoffs: 0 });
  });

  function pickWorker(): ConnectionTaker | undefined {
    const running = workers.filter((worker) => worker.isConnected() && !worker.isDead() && !failing.has(worker.id));
    if (running.length === 0) return undefined;
    // Round robin, passing over a worker that has not taken its last connection yet (busy,
    // or dying) while another has taken all of its own.
    for (let step = 0; step < running.length; step += 1) {
      const worker = running[(nextWorker + step) % running.length]!;
      if ((handing.get(worker.id)?.size ?? 0) === 0) {
        nextWorker = (nextWorker + step + 1) % running.length;
        return worker;
      }
    }
    const worker = running[nextWorker % running.length]!;
    nextWorker = (nextWorker + 1) % running.length;
    return worker;
  }

  function handOut(connection: Connection): void {
    if (connection.socket.destroyed) return;
    if (connection.handoffs >= MAX_HANDOFFS) {
      connection.socket.destroy();
      return;
    }
    const worker = pickWorker();
    if (!worker) {
      wait(connection);
      return;
    }
    const id = (nextId += 1);
    let pending = handing.get(worker.id);
    if (!pending) handing.set(worker.id, (pending = new Map()));
    pending.set(id, connection);
    connection.handoffs += 1;
    worker.send({ type: 'gatehouse.connection', id }, connection.socket, { keepOpen: true }, (error) => {
      // The channel closed under the message: the worker is going, give it to another.
      if (!error) return;
      failing.add(worker.id);
      if (pending.delete(id)) handOut(connection);
    });
  }

  function wait(connection: Connection): void {
    if (closed) {
      answerNoWorker(connection.socket);
      return;
    }
    connection.waitTimer = setTimeout(() => {
      const index = waiting.indexOf(connection);
      if (index >= 0) waiting.splice(index, 1);
      answerNoWorker(connection.socket);
    }, WAIT_FOR_WORKER_MS);
    connection.waitTimer.unref();
    waiting.push(connection);
  }

  return {
    listen(address) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(address.port, address.host, () => {
          server.off('error', reject);
          resolve((server.address() as net.AddressInfo).port);
        });
      });
    },
    addWorker(worker) {
      if (!workers.includes(worker)) workers.push(worker);
      for (const connection of waiting.splice(0)) {
        clearTimeout(connection.waitTimer);
        handOut(connection);
      }
    },
    removeWorker(workerId) {
      const index = workers.findIndex((worker) => worker.id === workerId);
      if (index >= 0) workers.splice(index, 1);
      failing.delete(workerId);
      const pending = handing.get(workerId);
      handing.delete(workerId);
      for (const connection of pending?.values() ?? []) handOut(connection);
    },
    handleReply(workerId, reply) {
      const pending = handing.get(workerId);
      const connection = pending?.get(reply.id);
      if (!pending || !connection) return;
      pending.delete(reply.id);
      if (reply.type === 'gatehouse.connection.taken') {
        // Closes only the primary's descriptor: the connection lives on in the worker.
        connection.socket.destroy();
      } else {
        handOut(connection);
      }
    },
    close() {
      closed = true;
      if (server.listening) server.close();
      if (workers.length === 0) {
        for (const connection of waiting.splice(0)) {
          clearTimeout(connection.waitTimer);
          answerNoWorker(connection.socket);
        }
      }
    },
    counts() {
      let count = 0;
      for (const pending of handing.values()) count += pending.size;
      return { handing: count, waiting: waiting.length };
    },
  };
}

/** A connection no worker can take: a plain 503 (the request is read and dropped first). */
function answerNoWorker(socket: net.Socket): void {
  if (socket.destroyed) return;
  socket.resume();
  socket.end(NO_WORKER_ANSWER);
  socket.setTimeout(5_000, () => socket.destroy());
}

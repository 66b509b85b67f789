/**
 * Where log lines go in production: a file descriptor (stdout), written in batches of up to
 * BATCH_BYTES with one synchronous `write` call, and at least every FLUSH_INTERVAL_MS so a
 * quiet gateway's lines still show.
 *
 * Why not pino's own destination (sonic-boom): its asynchronous mode hands every batch to
 * libuv's thread pool, and the thread hand-offs and wake-ups cost more per request than all
 * of the gateway's own request handling (docs/performance.md); its buffering also re-measures
 * the whole pending batch in UTF-8 for every line. A synchronous write of a few KiB is one
 * short system call on the event loop, and nothing waits in a queue to be lost on a crash.
 */
import { writeSync } from 'node:fs';

const BATCH_BYTES = 16 * 1024;
const FLUSH_INTERVAL_MS = 250;
// A full pipe (a stalled log reader) is waited for this long per batch, then the batch is
// dropped: a gateway that stops answering because nobody reads its logs would be worse.
const MAX_BLOCKED_MS = 2_000;
const RETRY_PAUSE_MS = 10;

export interface BatchedLineWriter {
  /** pino's destination interface: one serialised line, newline included. */
  write(line: string): void;
  /** Writes what is pending now (synchronously; pino's `logger.flush(cb)` passes a callback). */
  flush(callback?: (error?: Error) => void): void;
}

function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * Writes all of `bytes` to `fd`, waiting out EAGAIN (a non-blocking, full pipe) for a while.
 * Any other error (a closed stdout) or a longer wait drops the rest: logging never throws.
 */
function writeFully(fd: number, bytes: Buffer, length: number): void {
  let offset = 0;
  let blockedMs = 0;
  while (offset < length) {
    try {
      offset += writeSync(fd, bytes, offset, length - offset);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN' || blockedMs >= MAX_BLOCKED_MS) return;
      pause(RETRY_PAUSE_MS);
      blockedMs += RETRY_PAUSE_MS;
    }
  }
}

/** A batched writer on `fd` with its flush timer, flushed at process exit. */
export function createBatchedLineWriter(fd: number): BatchedLineWriter {
  const batch = Buffer.allocUnsafe(BATCH_BYTES);
  let used = 0;

  function flush(callback?: (error?: Error) => void): void {
    if (used > 0) {
      writeFully(fd, batch, used);
      used = 0;
    }
    callback?.();
  }

  function write(line: string): void {
    // A UTF-16 unit is at most 3 UTF-8 bytes: most lines need no exact measure.
    let room = BATCH_BYTES - used;
    if (line.length * 3 > room) {
      const bytes = Buffer.byteLength(line);
      if (bytes > room) {
        flush();
        room = BATCH_BYTES;
      }
      if (bytes > room) {
        writeFully(fd, Buffer.from(line), bytes);
        return;
      }
    }
    used += batch.write(line, used);
  }

  setInterval(() => flush(), FLUSH_INTERVAL_MS).unref();
  // Nothing buffered is lost on a normal exit, including process.exit() after a fatal error.
  process.on('exit', () => flush());

  return { write, flush };
}

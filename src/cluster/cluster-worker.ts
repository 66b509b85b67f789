/**
 * A worker's side of the connection handoff (connection-handoff.ts): it takes each connection
 * the primary hands over, gives it to the gateway, and answers at once, before reading from
 * it, so the primary closes its copy (or, refused, hands it to another worker).
 */
import net from 'node:net';
import { isConnectionMessage, type ConnectionReply } from './connection-handoff.js';

/** The worker's end of the channel to the primary (`process` in a cluster worker). */
export interface PrimaryChannel {
  on(type: 'message', listener: (message: unknown, handle: unknown) => void): unknown;
  send?(message: ConnectionReply): boolean;
}

/** `adopt` serves a connection, or returns false when this worker no longer can. */
export function takeHandedConnections(adopt: (socket: net.Socket) => boolean, channel: PrimaryChannel): void {
  channel.on('message', (message: unknown, handle: unknown) => {
    if (!isConnectionMessage(message)) return;
    const socket = handle instanceof net.Socket ? handle : undefined;
    const taken = socket !== undefined && adopt(socket);
    // Refused: close this worker's copy only; the primary still holds the connection.
    if (socket && !taken) socket.destroy();
    channel.send?.({ type: taken ? 'gatehouse.connection.taken' : 'gatehouse.connection.refused', id: message.id });
  });
}

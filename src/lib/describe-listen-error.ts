/** Explains a failed listen in one line (port taken, no permission, bad address). */
export function describeListenError(error: { code?: string; message: string }, address: string): string {
  switch (error.code) {
    case 'EADDRINUSE':
      return `cannot listen on ${address}: the address is already in use (is another gateway running?)`;
    case 'EACCES':
      return `cannot listen on ${address}: permission denied (ports below 1024 need privileges)`;
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${address}: this machine has no such address`;
    default:
      return `cannot listen on ${address}: ${error.message}`;
  }
}

/** `host:port`, with an IPv6 host in brackets. */
export function formatListenAddress(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

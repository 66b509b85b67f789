/** URLs of the sign-in pages, for links between the gateway's pages. */

export function loginHref(returnTo: string): string {
  return `/.gatehouse/login?rd=${encodeURIComponent(returnTo)}`;
}

/** Sign out, then straight to the email form (the 403 page's "use another address"). */
export function switchAddressHref(returnTo: string): string {
  return `/.gatehouse/logout?rd=${encodeURIComponent(returnTo)}&next=login`;
}

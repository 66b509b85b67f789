// geoip-country ships no types; this is the part of its API we use.
declare module 'geoip-country' {
  export interface CountryLookup {
    /** ISO 3166-1 alpha-2 code, e.g. "GB". */
    readonly country: string;
  }
  export function lookup(address: string): CountryLookup | null;
}

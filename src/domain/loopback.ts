/** 127.0.0.0/8 and ::1, also in their IPv4-mapped IPv6 form. */
export function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address.startsWith('::ffff:127.') || address === '::1';
}

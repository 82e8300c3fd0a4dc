/** Longest user name, in Unicode code points (docs/PROTOCOL.md §4). */
export const USER_NAME_MAX = 32;
/** Longest channel name, in Unicode code points (docs/PROTOCOL.md §4). */
export const CHANNEL_NAME_MAX = 64;
/** bcrypt reads only the first 72 bytes, so longer passwords are refused, never truncated. */
export const PASSWORD_MAX_BYTES = 72;

// `@` `:` `,` are reserved by federation (user@host, channel:host) and by the CHANNELS list.
const FORBIDDEN_IN_NAME = /[\p{White_Space}\p{Cc}@:,]/u;
// A hostname may hold `:` (`127.0.0.1:4401`); whitespace would split a federation line, `@` and `,`
// a qualified name or a list.
const FORBIDDEN_IN_HOSTNAME = /[\p{White_Space}\p{Cc}@,]/u;
// A NUL would end the password early inside bcrypt's C code, so control characters are refused too.
const FORBIDDEN_IN_PASSWORD = /[\p{White_Space}\p{Cc}]/u;

function codePointCountWithin(text: string, max: number): boolean {
  if (text.length <= max) return true;
  if (text.length > max * 2) return false;
  let count = 0;
  for (const _ of text) if (++count > max) return false;
  return true;
}

function isValidName(name: string, max: number): boolean {
  return name.length > 0 && codePointCountWithin(name, max) && !FORBIDDEN_IN_NAME.test(name);
}

export function isValidUserName(name: string): boolean {
  return isValidName(name, USER_NAME_MAX);
}

export function isValidChannelName(name: string): boolean {
  return isValidName(name, CHANNEL_NAME_MAX);
}

export function isValidPassword(password: string): boolean {
  return (
    password.length > 0 && Buffer.byteLength(password, 'utf8') <= PASSWORD_MAX_BYTES && !FORBIDDEN_IN_PASSWORD.test(password)
  );
}

/** Longest hostname in code points: a DNS name (253) with room for a short `:<port>`. */
export const HOSTNAME_MAX = 255;

/** The first character a server's hostname may not hold, if any. */
export function forbiddenInHostname(hostname: string): string | undefined {
  return FORBIDDEN_IN_HOSTNAME.exec(hostname)?.[0];
}

/** A server's hostname as a peer may announce it or a name may be qualified with it (docs/PROTOCOL.md §6.1). */
export function isValidHostname(hostname: string): boolean {
  return hostname.length > 0 && codePointCountWithin(hostname, HOSTNAME_MAX) && forbiddenInHostname(hostname) === undefined;
}

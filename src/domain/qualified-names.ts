/** A name with the server it belongs to: `helloworld:server2.com`, `bob@server1.com`. */
export interface Qualified {
  readonly name: string;
  readonly host: string;
}

/**
 * Splits at the first separator (docs/PROTOCOL.md §6.5): a hostname may itself contain `:`, as in
 * `helloworld:127.0.0.1:4401`. Undefined when the text is not qualified.
 */
function split(text: string, separator: string): Qualified | undefined {
  const at = text.indexOf(separator);
  if (at <= 0 || at === text.length - 1) return undefined;
  return { name: text.slice(0, at), host: text.slice(at + 1) };
}

/** `<channel>:<host>` */
export function parseChannelRef(text: string): Qualified | undefined {
  return split(text, ':');
}

/** `<user>@<host>` */
export function parseUserRef(text: string): Qualified | undefined {
  return split(text, '@');
}

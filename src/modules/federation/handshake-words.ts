import { isValidHostname } from '../../domain/names';

/** What a FEDERATE-OUT or FEDERATE-CONFIRM line says after its verb. */
export interface HandshakeWords {
  /** Empty when the line named no hostname (a bare FEDERATE-OUT of the assignment's peers). */
  readonly hostname: string;
  /** True when the line carries `ext=1`: the sender speaks the handshake's extension. */
  readonly extended: boolean;
  readonly caps: readonly string[];
  /** `caps` as written, for the proof's transcript. */
  readonly capsText: string;
  readonly nonce?: string;
  readonly proof?: string;
}

/** The capabilities this server offers and agrees to (docs/PROTOCOL.md §6.2, §6.4). */
export const CAPABILITIES: readonly string[] = ['cast'];

/**
 * `<hostname> [key=value…]`. The first word is always the hostname; unknown keys are ignored so
 * later versions can add some. Undefined when the hostname is not valid or a key is repeated.
 */
export function parseHandshakeWords(text: string): HandshakeWords | undefined {
  const [hostname = '', ...rest] = text.split(' ').filter((word) => word !== '');
  if (hostname !== '' && !isValidHostname(hostname)) return undefined;
  const params = new Map<string, string>();
  for (const word of rest) {
    const at = word.indexOf('=');
    const key = at === -1 ? word : word.slice(0, at);
    if (params.has(key)) return undefined;
    params.set(key, at === -1 ? '' : word.slice(at + 1));
  }
  const capsText = params.get('caps') ?? '';
  return {
    hostname,
    extended: params.get('ext') === '1',
    caps: capsText.split(',').filter((cap) => cap !== ''),
    capsText,
    nonce: params.get('nonce'),
    proof: params.get('proof'),
  };
}

/** The capabilities both sides offer, in this server's order, as the `caps` value. */
export function agreedCaps(offered: readonly string[]): string {
  return CAPABILITIES.filter((cap) => offered.includes(cap)).join(',');
}

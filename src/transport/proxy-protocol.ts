import { isIPv4, isIPv6, Socket, SocketAddress } from 'node:net';

/** Where a connection that came through a load balancer really comes from. */
export interface ProxiedSource {
  readonly address: string;
  readonly port: number;
}

/**
 * The start of a connection read as a PROXY protocol header (HAProxy's proxy-protocol.txt, v1 and
 * v2). A complete header without `source` (v1 `UNKNOWN`, v2 `LOCAL`, v2 without an IP family)
 * leaves the connection with the load balancer's own address.
 */
export type ProxyHeader =
  | { readonly status: 'incomplete' }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'complete'; readonly length: number; readonly source?: ProxiedSource };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The spec's bound: `PROXY TCP6` with two full IPv6 addresses and ports, CRLF included. */
export const V1_MAX_BYTES = 107;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;
/** Addresses plus TLVs; HAProxy's largest real headers are a few hundred bytes. */
export const V2_MAX_BYTES = 2048;

const INCOMPLETE: ProxyHeader = { status: 'incomplete' };
const invalid = (reason: string): ProxyHeader => ({ status: 'invalid', reason });

/** Reads a header at the start of `bytes`; `length` says where the connection's own bytes begin. */
export function parseProxyHeader(bytes: Buffer): ProxyHeader {
  if (startsLike(bytes, V2_SIGNATURE)) return bytes.length < V2_SIGNATURE.length ? INCOMPLETE : parseV2(bytes);
  if (startsLike(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? INCOMPLETE : parseV1(bytes);
  return invalid('not a PROXY protocol header');
}

/** True when `bytes` and `prefix` agree over their common length. */
function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const length = Math.min(bytes.length, prefix.length);
  return bytes.subarray(0, length).equals(prefix.subarray(0, length));
}

// PROXY TCP4|TCP6 <source> <destination> <source port> <destination port>\r\n, or PROXY UNKNOWN …\r\n
function parseV1(bytes: Buffer): ProxyHeader {
  const lf = bytes.subarray(0, V1_MAX_BYTES).indexOf(0x0a);
  if (lf === -1) return bytes.length < V1_MAX_BYTES ? INCOMPLETE : invalid(`v1 header longer than ${V1_MAX_BYTES} bytes`);
  if (bytes[lf - 1] !== 0x0d) return invalid('v1 header does not end in CRLF');
  const fields = bytes.toString('latin1', V1_PREFIX.length, lf - 1).split(' ');
  const length = lf + 1;
  if (fields[0] === 'UNKNOWN') return { status: 'complete', length };
  if (fields.length !== 5) return invalid('v1 header needs a protocol, two addresses and two ports');
  const [protocol, source, , sourcePort, destinationPort] = fields;
  const isAddress = protocol === 'TCP4' ? isIPv4 : protocol === 'TCP6' ? isIPv6 : undefined;
  if (!isAddress) return invalid(`v1 protocol ${JSON.stringify(protocol)} is not TCP4, TCP6 or UNKNOWN`);
  if (!isAddress(source) || !isAddress(fields[2])) return invalid(`v1 addresses are not ${protocol} addresses`);
  const port = v1Port(sourcePort);
  if (port === undefined || v1Port(destinationPort) === undefined) return invalid('v1 ports must be from 0 to 65535');
  return { status: 'complete', length, source: { address: canonical(source, protocol === 'TCP6'), port } };
}

function v1Port(text: string): number | undefined {
  return /^\d{1,5}$/.test(text) && Number(text) <= 65535 ? Number(text) : undefined;
}

const COMMAND_LOCAL = 0x0;
const COMMAND_PROXY = 0x1;
const FAMILY_INET = 0x1;
const FAMILY_INET6 = 0x2;
const FAMILY_UNIX = 0x3;

// 12-byte signature, version|command, family|transport, 16-bit length, addresses, TLVs (skipped)
function parseV2(bytes: Buffer): ProxyHeader {
  if (bytes.length < V2_FIXED_BYTES) return INCOMPLETE;
  const version = bytes[12] >> 4;
  const command = bytes[12] & 0x0f;
  const family = bytes[13] >> 4;
  const transport = bytes[13] & 0x0f;
  const length = V2_FIXED_BYTES + bytes.readUInt16BE(14);
  if (version !== 2) return invalid(`v2 header with version ${version}`);
  if (command !== COMMAND_LOCAL && command !== COMMAND_PROXY) return invalid(`v2 header with command ${command}`);
  if (family > FAMILY_UNIX || transport > 2) return invalid(`v2 header with address family byte 0x${bytes[13].toString(16)}`);
  if (length > V2_MAX_BYTES) return invalid(`v2 header of ${length} bytes, over ${V2_MAX_BYTES}`);
  if (bytes.length < length) return INCOMPLETE;
  if (command === COMMAND_LOCAL || (family !== FAMILY_INET && family !== FAMILY_INET6)) return { status: 'complete', length };
  const addressBytes = family === FAMILY_INET ? 4 : 16;
  // Source and destination addresses, then their two ports.
  if (length < V2_FIXED_BYTES + 2 * addressBytes + 4) return invalid('v2 header too short for its addresses');
  const address = bytes.subarray(V2_FIXED_BYTES, V2_FIXED_BYTES + addressBytes);
  const port = bytes.readUInt16BE(V2_FIXED_BYTES + 2 * addressBytes);
  return { status: 'complete', length, source: { address: formatAddress(address), port } };
}

function formatAddress(bytes: Buffer): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let offset = 0; offset < 16; offset += 2) groups.push(bytes.readUInt16BE(offset).toString(16));
  return canonical(groups.join(':'), true);
}

/** IPv6 as Node writes a socket's address (`2001:db8::1`), so per-address counts agree. */
function canonical(address: string, ipv6: boolean): string {
  return ipv6 ? new SocketAddress({ address, family: 'ipv6' }).address : address;
}

export type ProxyHeaderOutcome =
  { readonly ok: true; readonly source?: ProxiedSource } | { readonly ok: false; readonly reason: string };

/**
 * Reads the header from the start of `socket`, before anything else reads it. On success the
 * socket is left paused with the bytes that followed the header unread, so whoever resumes it
 * sees them first. Fails on a bad header, the end of the connection, or `timeoutMs` of waiting.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeaderOutcome> {
  return new Promise((resolve) => {
    let received: Buffer = Buffer.alloc(0);
    const finish = (outcome: ProxyHeaderOutcome): void => {
      clearTimeout(timer);
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError);
      resolve(outcome);
    };
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const header = parseProxyHeader(received);
      if (header.status === 'incomplete') return;
      if (header.status === 'invalid') return finish({ ok: false, reason: header.reason });
      socket.pause();
      if (received.length > header.length) socket.unshift(received.subarray(header.length));
      finish({ ok: true, source: header.source });
    };
    const onEnd = (): void => finish({ ok: false, reason: 'closed before a complete PROXY header' });
    const onError = (error: NodeJS.ErrnoException): void => finish({ ok: false, reason: error.code ?? error.message });
    const timer = setTimeout(() => finish({ ok: false, reason: `no PROXY header within ${timeoutMs} ms` }), timeoutMs);
    socket.on('data', onData).once('end', onEnd).once('close', onEnd).once('error', onError);
  });
}

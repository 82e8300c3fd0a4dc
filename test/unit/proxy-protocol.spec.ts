import { AddressInfo, connect, createServer, Server, Socket } from 'node:net';
import {
  parseProxyHeader,
  ProxyHeaderOutcome,
  readProxyHeader,
  V1_MAX_BYTES,
  V2_MAX_BYTES,
} from '../../src/transport/proxy-protocol';

const SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
const PROXY = 0x21;
const LOCAL = 0x20;
const TCP4 = 0x11;
const TCP6 = 0x21;
const UNSPEC = 0x00;

/** A v2 header: signature, version|command, family|transport, length, then `body` (addresses, TLVs). */
function v2(command: number, family: number, body: Buffer): Buffer {
  const fixed = Buffer.from([command, family, 0, 0]);
  fixed.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIGNATURE, fixed, body]);
}

function ports(source: number, destination: number): Buffer {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt16BE(source, 0);
  bytes.writeUInt16BE(destination, 2);
  return bytes;
}

const V4_BODY = Buffer.concat([Buffer.from([203, 0, 113, 7, 10, 0, 0, 2]), ports(51000, 4400)]);
const V6_SOURCE = Buffer.from('20010db8000000000000000000000001', 'hex');
const V6_BODY = Buffer.concat([V6_SOURCE, Buffer.from('20010db8000000000000000000000002', 'hex'), ports(443, 4400)]);
/** PP2_TYPE_AUTHORITY ("chat"), as HAProxy may append after the addresses. */
const TLV = Buffer.from([0x02, 0x00, 0x04, ...Buffer.from('chat')]);

const text = (value: string) => Buffer.from(value, 'latin1');

describe('parseProxyHeader, v1', () => {
  test('TCP4 gives the source address and port, and the header length up to its CRLF', () => {
    const header = 'PROXY TCP4 203.0.113.7 10.0.0.2 51000 4400\r\n';
    expect(parseProxyHeader(text(`${header}REGISTER bob pw\n`))).toEqual({
      status: 'complete',
      length: header.length,
      source: { address: '203.0.113.7', port: 51000 },
    });
  });

  test('TCP6 gives the source address in the form Node reports socket addresses', () => {
    const header = 'PROXY TCP6 2001:db8:0:0:0:0:0:1 2001:db8::2 443 4400\r\n';
    expect(parseProxyHeader(text(header))).toEqual({
      status: 'complete',
      length: header.length,
      source: { address: '2001:db8::1', port: 443 },
    });
  });

  test('UNKNOWN, bare or with addresses, completes without a source', () => {
    expect(parseProxyHeader(text('PROXY UNKNOWN\r\nCHANNELS\n'))).toEqual({ status: 'complete', length: 15 });
    const withAddresses = 'PROXY UNKNOWN ffff:f::1 ffff:f::2 1 2\r\n';
    expect(parseProxyHeader(text(withAddresses))).toEqual({ status: 'complete', length: withAddresses.length });
  });

  test('every proper prefix of a header is incomplete', () => {
    const header = text('PROXY TCP4 203.0.113.7 10.0.0.2 51000 4400\r\n');
    for (let length = 0; length < header.length; length++) {
      expect(parseProxyHeader(header.subarray(0, length))).toEqual({ status: 'incomplete' });
    }
  });

  test.each([
    ['a command instead of a header', 'REGISTER bob pw\r\n'],
    ['lower case', 'proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['an unknown protocol', 'PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n'],
    ['an IPv6 address under TCP4', 'PROXY TCP4 ::1 5.6.7.8 1 2\r\n'],
    ['an address out of range', 'PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n'],
    ['a port out of range', 'PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n'],
    ['a missing port', 'PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n'],
    ['a doubled space', 'PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n'],
    ['an LF without its CR', 'PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n'],
  ])('%s is invalid', (_what, header) => {
    expect(parseProxyHeader(text(header)).status).toBe('invalid');
  });

  test(`a line of ${V1_MAX_BYTES} bytes without its LF is too long`, () => {
    const long = text(`PROXY UNKNOWN ${'x'.repeat(V1_MAX_BYTES)}`);
    expect(parseProxyHeader(long.subarray(0, V1_MAX_BYTES - 1))).toEqual({ status: 'incomplete' });
    expect(parseProxyHeader(long.subarray(0, V1_MAX_BYTES))).toEqual({
      status: 'invalid',
      reason: `v1 header longer than ${V1_MAX_BYTES} bytes`,
    });
  });
});

describe('parseProxyHeader, v2', () => {
  test('PROXY over TCP4 gives the source, and the length covers the TLVs after the addresses', () => {
    const header = v2(PROXY, TCP4, Buffer.concat([V4_BODY, TLV]));
    expect(parseProxyHeader(Buffer.concat([header, text('CHANNELS\n')]))).toEqual({
      status: 'complete',
      length: header.length,
      source: { address: '203.0.113.7', port: 51000 },
    });
  });

  test('PROXY over TCP6 gives the source in the form Node reports socket addresses', () => {
    const header = v2(PROXY, TCP6, V6_BODY);
    expect(parseProxyHeader(header)).toEqual({
      status: 'complete',
      length: 16 + 36,
      source: { address: '2001:db8::1', port: 443 },
    });
  });

  test('an IPv4-mapped IPv6 source keeps its ::ffff: form', () => {
    const mapped = Buffer.from('00000000000000000000ffffcb007107', 'hex');
    const header = v2(PROXY, TCP6, Buffer.concat([mapped, V6_SOURCE, ports(1, 2)]));
    expect(parseProxyHeader(header)).toMatchObject({ source: { address: '::ffff:203.0.113.7', port: 1 } });
  });

  test('LOCAL (a health check) completes without a source, whatever its address block', () => {
    expect(parseProxyHeader(v2(LOCAL, UNSPEC, Buffer.alloc(0)))).toEqual({ status: 'complete', length: 16 });
    expect(parseProxyHeader(v2(LOCAL, TCP4, V4_BODY))).toEqual({ status: 'complete', length: 28 });
  });

  test('PROXY with an unspecified family completes without a source', () => {
    expect(parseProxyHeader(v2(PROXY, UNSPEC, TLV))).toEqual({ status: 'complete', length: 16 + TLV.length });
  });

  test('every proper prefix of a header is incomplete', () => {
    const header = v2(PROXY, TCP6, Buffer.concat([V6_BODY, TLV]));
    for (let length = 0; length < header.length; length++) {
      expect(parseProxyHeader(header.subarray(0, length))).toEqual({ status: 'incomplete' });
    }
  });

  test.each([
    ['a damaged signature', Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540b', 'hex'), Buffer.alloc(4)])],
    ['version 1 in the binary form', v2(0x11, TCP4, V4_BODY)],
    ['an unknown command', v2(0x22, TCP4, V4_BODY)],
    ['an unknown address family', v2(PROXY, 0x41, V4_BODY)],
    ['an unknown transport', v2(PROXY, 0x13, V4_BODY)],
    ['a length too short for TCP4 addresses', v2(PROXY, TCP4, V4_BODY.subarray(0, 11))],
    ['a length too short for TCP6 addresses', v2(PROXY, TCP6, V4_BODY)],
  ])('%s is invalid', (_what, header) => {
    expect(parseProxyHeader(header).status).toBe('invalid');
  });

  test(`a declared length over ${V2_MAX_BYTES} bytes is refused from the fixed part alone`, () => {
    const fixed = v2(PROXY, TCP4, Buffer.alloc(V2_MAX_BYTES)).subarray(0, 16);
    expect(parseProxyHeader(fixed)).toEqual({
      status: 'invalid',
      reason: `v2 header of ${16 + V2_MAX_BYTES} bytes, over ${V2_MAX_BYTES}`,
    });
  });
});

describe('readProxyHeader', () => {
  let server: Server;
  let client: Socket;
  let accepted: Promise<Socket>;

  beforeEach(async () => {
    server = createServer({ allowHalfOpen: true });
    accepted = new Promise((resolve) => server.once('connection', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    client.on('error', () => undefined);
    await new Promise((resolve) => client.once('connect', resolve));
  });

  afterEach(async () => {
    client.destroy();
    (await accepted).destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Everything the socket delivers after the header, until the client ends. */
  function rest(socket: Socket): Promise<string> {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.resume();
    return new Promise((resolve) => socket.once('end', () => resolve(Buffer.concat(chunks).toString('latin1'))));
  }

  test('a header split across writes is read, and the bytes after it in the same write come next', async () => {
    const socket = await accepted;
    const reading = readProxyHeader(socket, 2000);
    const header = v2(PROXY, TCP4, Buffer.concat([V4_BODY, TLV]));
    client.write(header.subarray(0, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    client.write(Buffer.concat([header.subarray(5), text('REGISTER bob pw\n')]));
    await expect(reading).resolves.toEqual<ProxyHeaderOutcome>({ ok: true, source: { address: '203.0.113.7', port: 51000 } });
    client.end('LOGIN bob pw\n');
    await expect(rest(socket)).resolves.toBe('REGISTER bob pw\nLOGIN bob pw\n');
  });

  test('a bad header fails at once with the reason', async () => {
    const socket = await accepted;
    const reading = readProxyHeader(socket, 2000);
    client.write('REGISTER bob pw\n');
    await expect(reading).resolves.toEqual({ ok: false, reason: 'not a PROXY protocol header' });
  });

  test('no header within the time fails', async () => {
    const socket = await accepted;
    const reading = readProxyHeader(socket, 100);
    client.write('PROXY TCP4 ');
    await expect(reading).resolves.toEqual({ ok: false, reason: 'no PROXY header within 100 ms' });
  });

  test('a connection that ends before its header is complete fails', async () => {
    const socket = await accepted;
    const reading = readProxyHeader(socket, 2000);
    client.end('PROXY TCP4 1.2.3.4');
    await expect(reading).resolves.toEqual({ ok: false, reason: 'closed before a complete PROXY header' });
  });
});

import { testDatabases } from './harness/databases';
import { eventually } from './harness/federation';
import { delay, LineClient } from './harness/line-client';
import { LEVEL, LogCapture, LogEntry } from './harness/log-capture';
import { TestServer } from './harness/test-server';

// The load balancer is 127.0.0.1, where LineClient connects from by default; 127.0.0.2 is not one.
const BALANCER = '127.0.0.1';
const OUTSIDER = '127.0.0.2';

const database = testDatabases()[0];
const logs = new LogCapture();
let server: TestServer;

beforeAll(async () => {
  server = await TestServer.start(
    await database.fresh(),
    { logLevel: 'info', proxyProtocol: { from: [BALANCER] }, limits: { connectionsPerAddress: 2, registrationsPerMinute: 1 } },
    { logDestination: logs },
  );
});

afterAll(async () => {
  await server.stop();
  database.dispose();
});

let clients: LineClient[] = [];

afterEach(() => {
  for (const each of clients) each.close();
  clients = [];
});

async function connect(name: string, localAddress?: string): Promise<LineClient> {
  const client = await LineClient.connect(server.port, name, '127.0.0.1', localAddress);
  clients.push(client);
  return client;
}

/** A client behind the load balancer: its connection starts with `header`. */
async function proxied(name: string, header: string | Buffer): Promise<LineClient> {
  const client = await connect(name);
  client.write(header);
  return client;
}

const v1 = (address: string, port = 51000) => `PROXY TCP4 ${address} 127.0.0.1 ${port} 4400\r\n`;

/** A v2 PROXY header over TCP6 from `[source]:port`, with one TLV after the addresses. */
function v2(source: string, port: number): Buffer {
  const groups = (address: string) => {
    const [head, tail] = address.split('::').map((part) => (part ? part.split(':') : []));
    const all = [...head, ...Array<string>(8 - head.length - tail.length).fill('0'), ...tail];
    return Buffer.from(all.map((group) => group.padStart(4, '0')).join(''), 'hex');
  };
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(port, 0);
  ports.writeUInt16BE(4400, 2);
  const tlv = Buffer.from([0x02, 0x00, 0x04, ...Buffer.from('chat')]);
  const body = Buffer.concat([groups(source), groups('2001:db8::100'), ports, tlv]);
  const fixed = Buffer.from([0x21, 0x21, 0, body.length]);
  return Buffer.concat([Buffer.from('0d0a0d0a000d0a515549540a', 'hex'), fixed, body]);
}

const opened = (): LogEntry[] => logs.entries.filter((entry) => entry.msg === 'connection opened');

describe('PROXY protocol from a configured load balancer (proxyProtocol.from)', () => {
  // "a v1 header's source is the connection's remote address"
  test('a v1 header makes its source the logged remote address, and the bytes after it are commands', async () => {
    const client = await proxied('v1', `${v1('203.0.113.7')}REGISTER viaone pw\nLOGIN viaone pw\n`);
    await client.expectLine('RESULT REGISTER 1');
    await client.expectLine('RESULT LOGIN 1');
    expect(opened()).toContainEqual(
      expect.objectContaining({ remote: '203.0.113.7:51000', via: expect.stringMatching(/^127\.0\.0\.1:\d+$/) }),
    );
  });

  test('a v2 header (TCP6, with a TLV) makes its source the logged remote address', async () => {
    const client = await proxied('v2', v2('2001:db8::7', 443));
    await client.registerAndLogin('viatwo');
    expect(opened()).toContainEqual(expect.objectContaining({ remote: '2001:db8::7:443' }));
  });

  test('PROXY UNKNOWN keeps the load balancer as the remote address', async () => {
    const client = await proxied('unknown', 'PROXY UNKNOWN\r\n');
    client.send('CHANNELS');
    await client.expectLine('RESULT CHANNELS ');
    const entry = opened().at(-1);
    expect(entry?.remote).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(entry?.via).toBeUndefined();
  });

  // "limits.connectionsPerAddress counts open connections per remote address"
  test('the per-address connection limit counts the address in the header, not the balancer', async () => {
    const first = await proxied('first', v1('198.51.100.1', 1));
    const second = await proxied('second', v1('198.51.100.1', 2));
    const third = await proxied('third', v1('198.51.100.1', 3));
    await third.expectClosed();
    const elsewhere = await proxied('elsewhere', v1('198.51.100.2', 4));
    for (const client of [first, second, elsewhere]) {
      client.send('CHANNELS');
      await client.expectLine('RESULT CHANNELS ');
    }
  });

  // "limits.registrationsPerMinute counts REGISTERs per remote address"
  test('the registration rate counts the address in the header', async () => {
    const one = await proxied('one', v1('198.51.100.3'));
    one.send('REGISTER regone pw');
    one.send('REGISTER regtwo pw');
    await one.expectLine('RESULT REGISTER 1');
    await one.expectLine('RESULT REGISTER 0');
    const other = await proxied('other', v1('198.51.100.4'));
    other.send('REGISTER regthree pw');
    await other.expectLine('RESULT REGISTER 1');
  });

  test('a connection from the load balancer without a header is closed, with one warning naming the balancer', async () => {
    logs.clear();
    const client = await proxied('bare', 'REGISTER bare pw\n');
    await client.expectClosed();
    await eventually(async () =>
      expect(logs.atLeast(LEVEL.warn)).toEqual([
        expect.objectContaining({
          remote: BALANCER,
          msg: `refused a connection from load balancer ${BALANCER}: not a PROXY protocol header`,
        }),
      ]),
    );
    expect(opened()).toEqual([]);
  });

  test('a connection from the load balancer that sends no header within 5 s is closed', async () => {
    const client = await connect('silent');
    await delay(4000);
    expect(client.isClosed).toBe(false);
    await client.expectClosed(3000);
  });
});

describe('PROXY protocol from an address that is not a load balancer', () => {
  // "a connection from an address not in proxyProtocol.from is never read for a header"
  test('a PROXY line is an unknown command there, and the socket address stays the remote address', async () => {
    logs.clear();
    const client = await connect('outsider', OUTSIDER);
    client.write(`${v1('203.0.113.99')}`);
    await client.expectSilence();
    await client.registerAndLogin('outsider');
    expect(opened()).toEqual([expect.objectContaining({ remote: expect.stringMatching(/^127\.0\.0\.2:\d+$/) })]);
  });
});

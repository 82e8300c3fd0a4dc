import fc from 'fast-check';
import { sortByCodePoint } from '../../src/domain/code-point-order';
import { testDatabases } from './harness/databases';
import { delay, LineClient } from './harness/line-client';
import { TestServer } from './harness/test-server';

const CLIENTS = 3;
const USERS = ['ann', 'ben', 'cat'];
const PASSWORDS = ['p1', 'p2'];
const CHANNELS = ['x', 'Y', '日本'];
const MESSAGES = ['hi', 'two  spaces', 'émoji 😀 ', 'RECV fake x y'];

type Step = { client: number; line: string } | { client: number; reconnect: true };

/** docs/PROTOCOL.md §2 in a few lines: what each client must receive for one step. */
class ProtocolModel {
  private readonly users = new Map<string, string>();
  private readonly channels = new Map<string, Set<string>>();
  private readonly sessions: Array<string | undefined> = Array(CLIENTS).fill(undefined);

  apply(step: Step): Map<number, string[]> {
    const out = new Map<number, string[]>();
    if ('reconnect' in step) {
      this.sessions[step.client] = undefined;
      return out;
    }
    const reply = (line: string) => out.set(step.client, [line]);
    const [verb, first, ...rest] = step.line.split(' ');
    const me = this.sessions[step.client];
    switch (verb) {
      case 'REGISTER': {
        const ok = !this.users.has(first);
        if (ok) this.users.set(first, rest[0]);
        reply(`RESULT REGISTER ${ok ? 1 : 0}`);
        break;
      }
      case 'LOGIN': {
        const ok = me === undefined && this.users.get(first) === rest[0] && !this.sessions.includes(first);
        if (ok) this.sessions[step.client] = first;
        reply(`RESULT LOGIN ${ok ? 1 : 0}`);
        break;
      }
      case 'CREATE': {
        const ok = me !== undefined && !this.channels.has(first);
        if (ok) this.channels.set(first, new Set());
        reply(`RESULT CREATE ${first} ${ok ? 1 : 0}`);
        break;
      }
      case 'JOIN': {
        const members = this.channels.get(first);
        const ok = me !== undefined && members !== undefined && !members.has(me);
        if (ok) members?.add(me);
        reply(`RESULT JOIN ${first} ${ok ? 1 : 0}`);
        break;
      }
      case 'SAY': {
        const members = this.channels.get(first);
        if (me === undefined || !members?.has(me)) {
          reply('RESULT SAY 0');
          break;
        }
        const message = step.line.slice(`SAY ${first} `.length);
        this.sessions.forEach((user, client) => {
          if (user !== undefined && members.has(user)) out.set(client, [`RECV ${me} ${first} ${message}`]);
        });
        break;
      }
      case 'CHANNELS':
        reply(`RESULT CHANNELS ${sortByCodePoint(this.channels.keys()).join(', ')}`);
        break;
    }
    return out;
  }
}

const client = fc.integer({ min: 0, max: CLIENTS - 1 });
const pick = (values: string[]) => fc.constantFrom(...values);
const step: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({ client, line: fc.tuple(pick(USERS), pick(PASSWORDS)).map(([u, p]) => `REGISTER ${u} ${p}`) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ client, line: fc.tuple(pick(USERS), pick(PASSWORDS)).map(([u, p]) => `LOGIN ${u} ${p}`) }),
    weight: 2,
  },
  { arbitrary: fc.record({ client, line: pick(CHANNELS).map((c) => `CREATE ${c}`) }), weight: 1 },
  { arbitrary: fc.record({ client, line: pick(CHANNELS).map((c) => `JOIN ${c}`) }), weight: 3 },
  {
    arbitrary: fc.record({ client, line: fc.tuple(pick(CHANNELS), pick(MESSAGES)).map(([c, m]) => `SAY ${c} ${m}`) }),
    weight: 5,
  },
  { arbitrary: fc.record({ client, line: fc.constant('CHANNELS') }), weight: 1 },
  { arbitrary: fc.record({ client, reconnect: fc.constant(true as const) }), weight: 1 },
);

/** Every run starts with each client registered and logged in as its own user, and one channel. */
const PROLOGUE: Step[] = [
  ...USERS.flatMap((user, index) => [
    { client: index, line: `REGISTER ${user} p1` },
    { client: index, line: `LOGIN ${user} p1` },
  ]),
  { client: 0, line: `CREATE ${CHANNELS[0]}` },
];

const database = testDatabases()[0];
afterAll(() => database.dispose());

// Random command sequences from several clients against the real server, compared with the model.
test('the server answers random multi-client sessions exactly as the protocol model does', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: 80 }), async (randomSteps) => {
      const steps = [...PROLOGUE, ...randomSteps];
      const server = await TestServer.start(await database.fresh(), { limits: { loginFailuresPerMinute: 1_000_000 } });
      const clients = await Promise.all(
        Array.from({ length: CLIENTS }, (_, index) => LineClient.connect(server.port, `client${index}`)),
      );
      const model = new ProtocolModel();
      try {
        for (const each of steps) {
          const expected = model.apply(each);
          if ('reconnect' in each) {
            clients[each.client].close();
            await delay(30);
            clients[each.client] = await LineClient.connect(server.port, `client${each.client}`);
            continue;
          }
          clients[each.client].send(each.line);
          for (const [index, lines] of expected) for (const line of lines) await clients[index].expectLine(line);
        }
        await delay(50);
        for (const each of clients) expect(each.unread()).toEqual([]);
      } finally {
        for (const each of clients) each.close();
        await server.stop();
      }
    }),
    { numRuns: 6 },
  );
}, 120000);

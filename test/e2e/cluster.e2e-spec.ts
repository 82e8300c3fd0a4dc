import { Cluster, CLUSTER_SKIPPED, clusterDescribe } from './harness/cluster';
import { delay, LineClient } from './harness/line-client';
import { RedisServer } from './harness/redis-server';

/**
 * Cluster mode (PROTOCOL.md §7, README "Running several instances"): three `node dist/main.js`
 * sharing one PostgreSQL and one Redis behave, to their clients, as one server.
 */

const skipped = CLUSTER_SKIPPED;

const LEASE_MS = 2000;
const START_TIMEOUT_MS = 90_000;

jest.setTimeout(60_000);

async function command(client: LineClient, line: string, reply: string, timeoutMs = 5000): Promise<void> {
  client.send(line);
  await client.expectLine(reply, timeoutMs);
}

/** The next `count` lines, which must all be RECVs, within `timeoutMs` altogether. */
async function recvs(client: LineClient, count: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const lines: string[] = [];
  while (lines.length < count) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`${client.name} got ${lines.length} of ${count} RECVs within ${timeoutMs} ms`);
    const line = await client.readLine(left).catch((error: Error) => {
      throw new Error(`${client.name} got ${lines.length} of ${count} RECVs: ${error.message}`);
    });
    if (!line.startsWith('RECV ')) throw new Error(`${client.name}: expected a RECV, got ${JSON.stringify(line)}`);
    lines.push(line);
  }
  return lines;
}

/** The names a `RESULT CHANNELS …` line lists. */
function listed(line: string): string[] {
  const prefix = 'RESULT CHANNELS ';
  if (!line.startsWith(prefix)) throw new Error(`expected ${JSON.stringify(prefix)}…, got ${JSON.stringify(line)}`);
  const rest = line.slice(prefix.length);
  return rest === '' ? [] : rest.split(', ');
}

/** LOGIN on `client` until it succeeds; a LOGIN refused because the user is online elsewhere is not a failure that counts. */
async function loginWithin(client: LineClient, user: string, timeoutMs: number, everyMs = 250): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < timeoutMs) {
    client.send(`LOGIN ${user} pw`);
    last = await client.readLine(5000);
    if (last === 'RESULT LOGIN 1') return Date.now() - started;
    await delay(everyMs);
  }
  throw new Error(`LOGIN ${user} on ${client.name} still answered ${JSON.stringify(last)} after ${timeoutMs} ms`);
}

clusterDescribe(`cluster of three instances${skipped}`, () => {
  let redis: RedisServer;
  let cluster: Cluster;

  beforeAll(async () => {
    redis = await RedisServer.start();
    cluster = await Cluster.start({ instances: 3, redis, env: { CLUSTER_LEASE_MS: String(LEASE_MS) } });
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.stop();
    await redis?.stop();
  });

  // "A SAY that succeeds sends this line to every member of the channel who is logged in at that
  // moment, including the sender." Members on any instance; each message once, in one order.
  test('SAY from senders on different instances reaches every member on every instance exactly once, in one order', async () => {
    const perSender = 25;
    const members: LineClient[] = [];
    for (const i of [1, 2, 3]) for (const n of [1, 2]) members.push(await cluster.loggedIn(i, `cross${i}${n}`));
    await command(members[0], 'CREATE crossroads', 'RESULT CREATE crossroads 1');
    for (const member of members) await command(member, 'JOIN crossroads', 'RESULT JOIN crossroads 1');

    // One sender per instance, plus a second one on i1, all at once.
    const senders = [members[0], members[1], members[2], members[4]];
    for (let n = 0; n < perSender; n++) {
      for (const sender of senders) sender.send(`SAY crossroads ${sender.name}-${n}`);
    }

    const expected = senders.flatMap((sender) => {
      const user = sender.name.split('@')[0];
      return Array.from({ length: perSender }, (_, n) => `RECV ${user} crossroads ${sender.name}-${n}`);
    });
    const seen = await Promise.all(members.map((member) => recvs(member, expected.length, 15_000)));
    await Promise.all(members.map((member) => member.expectSilence(300)));
    for (const [index, lines] of seen.entries()) {
      expect({ member: members[index].name, lines: [...lines].sort() }).toEqual({
        member: members[index].name,
        lines: [...expected].sort(),
      });
      // "the messages of one sender reach each member in the order they were said"
      for (const sender of senders) {
        const saidBy = (line: string): boolean => line.includes(` ${sender.name}-`);
        expect(lines.filter(saidBy)).toEqual(expected.filter(saidBy));
      }
    }
    for (const lines of seen.slice(1)) expect(lines).toEqual(seen[0]);
    for (const member of members) member.close();
  });

  // "A user can be logged in on one connection at a time" — across the cluster.
  test('LOGIN of a user online on i1 fails on i2 and i3 until the i1 connection closes, then succeeds', async () => {
    const first = await cluster.loggedIn(1, 'solo');
    const second = await cluster.connect(2, 'solo@i2');
    const third = await cluster.connect(3, 'solo@i3');
    await command(second, 'LOGIN solo pw', 'RESULT LOGIN 0');
    await command(third, 'LOGIN solo pw', 'RESULT LOGIN 0');
    // "The other connection is not disturbed": it is still logged in.
    await command(first, 'CREATE soloroom', 'RESULT CREATE soloroom 1');
    first.close();
    expect(await loginWithin(second, 'solo', 3000)).toBeLessThan(3000);
    await command(third, 'LOGIN solo pw', 'RESULT LOGIN 0');
    second.close();
    third.close();
  });

  // "RESULT CREATE <channel> 1: the channel exists from now on" — on every instance at once.
  test('a channel CREATEd on i1 is in CHANNELS on i2 and i3 right after RESULT CREATE 1, and JOIN of it on i3 works', async () => {
    const creator = await cluster.loggedIn(1, 'maker');
    const onTwo = await cluster.connect(2, 'lister@i2');
    const onThree = await cluster.loggedIn(3, 'joiner');
    await command(creator, 'CREATE fresh', 'RESULT CREATE fresh 1');
    onTwo.send('CHANNELS');
    onThree.send('CHANNELS');
    expect(listed(await onTwo.readLine())).toContain('fresh');
    expect(listed(await onThree.readLine())).toContain('fresh');
    await command(onThree, 'JOIN fresh', 'RESULT JOIN fresh 1');
    for (const client of [creator, onTwo, onThree]) client.close();
  });

  // "Of two REGISTERs of one name at the same moment, exactly one succeeds" holds for CREATE too,
  // whichever instances they reach.
  test('the same name CREATEd on i1, i2 and i3 at the same moment is created exactly once', async () => {
    const creators = [
      await cluster.loggedIn(1, 'racer1'),
      await cluster.loggedIn(2, 'racer2'),
      await cluster.loggedIn(3, 'racer3'),
    ];
    const winners: Record<string, string[]> = {};
    for (let round = 0; round < 20; round++) {
      const name = `race${round}`;
      for (const creator of creators) creator.send(`CREATE ${name}`);
      const replies = await Promise.all(creators.map((creator) => creator.readLine(5000)));
      for (const reply of replies) expect([`RESULT CREATE ${name} 1`, `RESULT CREATE ${name} 0`]).toContain(reply);
      winners[name] = creators.filter((_, index) => replies[index].endsWith(' 1')).map((creator) => creator.name);
    }
    const notExactlyOne = Object.entries(winners).filter(([, won]) => won.length !== 1);
    expect(notExactlyOne).toEqual([]);
    for (const creator of creators) creator.close();
  });

  // "that user name has had limits.loginFailuresPerMinute (10) failed LOGINs in the last 60
  // seconds: … even the right one fails" — failures on any instance count.
  test('ten failed LOGINs spread over the instances make even the right password fail on every instance', async () => {
    const owner = await cluster.connect(1, 'owner@i1');
    await command(owner, 'REGISTER target right', 'RESULT REGISTER 1');
    const clients = [owner, await cluster.connect(2, 'guesser@i2'), await cluster.connect(3, 'guesser@i3')];
    for (let attempt = 0; attempt < 10; attempt++) {
      await command(clients[attempt % 3], `LOGIN target wrong${attempt}`, 'RESULT LOGIN 0');
    }
    for (const client of clients) await command(client, 'LOGIN target right', 'RESULT LOGIN 0');
    for (const client of clients) client.close();
  });
});

clusterDescribe(`an instance killed with SIGKILL${skipped}`, () => {
  let redis: RedisServer;
  let cluster: Cluster;

  beforeAll(async () => {
    redis = await RedisServer.start();
    cluster = await Cluster.start({ instances: 3, redis, env: { CLUSTER_LEASE_MS: String(LEASE_MS) } });
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.stop();
    await redis?.stop();
  });

  // CLUSTER_LEASE_MS: "an instance killed with SIGKILL has its users' logins released within this time".
  test('its users can log in elsewhere within the lease, and clients of the other instances notice nothing', async () => {
    const doomed = await cluster.loggedIn(1, 'doomed');
    const carol = await cluster.loggedIn(3, 'carol');
    const dave = await cluster.loggedIn(2, 'dave');
    await command(carol, 'CREATE talk', 'RESULT CREATE talk 1');
    for (const member of [carol, dave, doomed]) await command(member, 'JOIN talk', 'RESULT JOIN talk 1');
    const retry = await cluster.connect(2, 'doomed@i2');
    await command(retry, 'LOGIN doomed pw', 'RESULT LOGIN 0');
    await recvsAfter(carol, dave, 'before', 3);

    await cluster.instance(1).kill9();
    const killedAt = Date.now();
    let talking = true;
    let said = 0;
    const conversation = (async () => {
      while (talking) {
        dave.send(`SAY talk during${said++}`);
        await delay(200);
      }
    })();
    await loginWithin(retry, 'doomed', LEASE_MS + 3000);
    const releasedAfterMs = Date.now() - killedAt;
    talking = false;
    await conversation;
    expect(releasedAfterMs).toBeLessThan(LEASE_MS + 3000);

    const expected = Array.from({ length: said }, (_, n) => `RECV dave talk during${n}`);
    expect(await recvs(carol, said, 5000)).toEqual(expected);
    expect(await recvs(dave, said, 5000)).toEqual(expected);
    expect(carol.isClosed).toBe(false);
    await recvsAfter(carol, dave, 'after', 3);
    for (const client of [carol, dave, retry]) client.close();
  });
});

/** `speaker` says `count` messages in `talk`; both it and `listener` get each one. */
async function recvsAfter(listener: LineClient, speaker: LineClient, tag: string, count: number): Promise<void> {
  const user = speaker.name.split('@')[0];
  for (let n = 0; n < count; n++) speaker.send(`SAY talk ${tag}${n}`);
  const expected = Array.from({ length: count }, (_, n) => `RECV ${user} talk ${tag}${n}`);
  expect(await recvs(speaker, count, 5000)).toEqual(expected);
  expect(await recvs(listener, count, 5000)).toEqual(expected);
}

clusterDescribe(`registrations per address across the cluster${skipped}`, () => {
  const limit = 5;
  let redis: RedisServer;
  let cluster: Cluster;

  beforeAll(async () => {
    redis = await RedisServer.start();
    // limits.registrationsPerMinute has no environment variable: a configuration file sets it.
    cluster = await Cluster.start({ instances: 3, redis, configuration: `limits:\n  registrationsPerMinute: ${limit}\n` });
  }, START_TIMEOUT_MS);

  afterAll(async () => {
    await cluster?.stop();
    await redis?.stop();
  });

  // "this address has sent limits.registrationsPerMinute well-formed REGISTERs in the last 60
  // seconds" — counted over every instance.
  test('REGISTERs from one address are counted together on every instance', async () => {
    const clients = [await cluster.connect(1), await cluster.connect(2), await cluster.connect(3)];
    for (let n = 0; n < limit; n++) await command(clients[n % 3], `REGISTER reg${n} pw`, 'RESULT REGISTER 1');
    for (const [index, client] of clients.entries()) await command(client, `REGISTER over${index} pw`, 'RESULT REGISTER 0');
    for (const client of clients) client.close();
  });
});

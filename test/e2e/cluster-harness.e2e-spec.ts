import { existsSync } from 'node:fs';
import { connect, Socket } from 'node:net';
import { Cluster } from './harness/cluster';
import { httpGet } from './harness/http-probe';
import { RedisServer, redisServerAvailable, REDIS_SERVER_BINARY } from './harness/redis-server';

const haveRedis = redisServerAvailable();
const postgresUrl = process.env.TEST_DATABASE_URL;
const noRedis = haveRedis ? '' : ` (skipped: ${REDIS_SERVER_BINARY} is not installed)`;
const noCluster = noRedis || (postgresUrl ? '' : ' (skipped: TEST_DATABASE_URL is unset)');

/** A raw connection to `port` that has had its PONG, so it is a live client of that Redis. */
async function openClient(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no +PONG within 2000 ms on a raw connection')), 2000);
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      if (chunk.toString() === '+PONG\r\n') resolve();
      else reject(new Error(`expected +PONG, got ${JSON.stringify(chunk.toString())}`));
    });
    socket.write('PING\r\n');
  });
  return socket;
}

function closed(socket: Socket, timeoutMs = 2000): Promise<void> {
  return new Promise((resolve, reject) => {
    if (socket.destroyed) return resolve();
    const timer = setTimeout(
      () => reject(new Error(`the connection was still open ${timeoutMs} ms after CLIENT KILL`)),
      timeoutMs,
    );
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

(noRedis ? describe.skip : describe)(`RedisServer harness${noRedis}`, () => {
  test('starts on a free loopback port of its own and answers PING', async () => {
    const redis = await RedisServer.start();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.port).not.toBe(6379);
    expect(await redis.command('PING')).toBe('PONG');
    await redis.stop();
  });

  test('stop ends the process and removes its directory', async () => {
    const redis = await RedisServer.start();
    await redis.stop();
    expect(redis.running).toBe(false);
    expect(existsSync(redis.dir)).toBe(false);
    await expect(redis.command('PING')).rejects.toThrow(/ECONNREFUSED/);
  });

  test('with appendonly, a key written before kill9 is there after restart', async () => {
    const redis = await RedisServer.start({ appendonly: true });
    expect(await redis.command('SET', 'kept', 'value')).toBe('OK');
    await redis.kill9();
    await expect(redis.command('PING')).rejects.toThrow(/ECONNREFUSED/);
    await redis.restart();
    expect(await redis.command('GET', 'kept')).toBe('value');
    await redis.stop();
  });

  test('dropClients closes an open client connection, and the server keeps serving', async () => {
    const redis = await RedisServer.start();
    const client = await openClient(redis.port);
    expect(await redis.dropClients()).toBeGreaterThanOrEqual(1);
    await closed(client);
    expect(await redis.command('PING')).toBe('PONG');
    await redis.stop();
  });
});

(noCluster ? describe.skip : describe)(`Cluster harness${noCluster}`, () => {
  test('starts the instances, reads their ports from the log, and kill9/restart one of them', async () => {
    const redis = await RedisServer.start();
    const cluster = await Cluster.start({ instances: 2, redis });
    for (const i of [1, 2]) {
      const client = await cluster.connect(i);
      client.send('CHANNELS');
      await client.expectLine('RESULT CHANNELS ');
      client.close();
      expect((await httpGet(cluster.instance(i).http, '/readyz')).status).toBe(200);
      expect(cluster.instance(i).logs.map((entry) => entry.msg)).toContainEqual(expect.stringMatching(/^listening on /));
    }
    await cluster.instance(2).kill9();
    expect(cluster.instance(2).running).toBe(false);
    await cluster.instance(2).restart();
    const again = await cluster.connect(2);
    again.send('CHANNELS');
    await again.expectLine('RESULT CHANNELS ');
    again.close();
    await cluster.stop();
    await redis.stop();
  });
});

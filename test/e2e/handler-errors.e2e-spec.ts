import { Controller, Module } from '@nestjs/common';
import { INestMicroservice } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { AppModule } from '../../src/app.module';
import { lineServerOptions } from '../../src/chat-server';
import { Verb } from '../../src/transport/command';
import { LineServer } from '../../src/transport/line-server';
import { Refusal } from '../../src/transport/refusal';
import { testDatabases } from './harness/databases';
import { LineClient } from './harness/line-client';
import { LEVEL, LogCapture } from './harness/log-capture';
import { testSettings } from './harness/test-server';

/** A module added the way users extend the server: one controller, one verb per handler. */
@Controller()
class FaultyController {
  // BOOM <thing>
  @Verb('BOOM', { fields: ['thing'], subject: 'thing' })
  boom(): never {
    throw new Error('storage exploded');
  }

  // DENY
  @Verb('DENY', { fields: [] })
  deny(): never {
    throw new Refusal('not allowed');
  }

  // PEEK   (never fails, so it has no failure reply)
  @Verb('PEEK', { fields: [], canFail: false })
  peek(): never {
    throw new Error('peek broke');
  }
}

@Module({ controllers: [FaultyController] })
class FaultyModule {}

const database = testDatabases()[0];

describe('handler errors', () => {
  let app: INestMicroservice;
  let transport: LineServer;
  let client: LineClient;
  const logs = new LogCapture();
  const errors = () => logs.atLeast(LEVEL.error).map((entry) => entry.msg);

  beforeAll(async () => {
    const settings = testSettings(await database.fresh(), { logLevel: 'error' });
    const logger = logs.logger('error');
    const moduleRef = await Test.createTestingModule({
      imports: [AppModule.forRoot(settings, { databaseRetryAttempts: 0, logger }), FaultyModule],
    }).compile();
    transport = new LineServer(lineServerOptions(settings), logger);
    app = moduleRef.createNestMicroservice({ strategy: transport });
    await app.listen();
  });

  beforeEach(async () => {
    logs.clear();
    client = await LineClient.connect(transport.address().port);
  });

  afterEach(() => {
    client.close();
  });

  afterAll(async () => {
    await app.close();
    database.dispose();
  });

  // "A handler that throws never closes the connection or stops the process: the client gets
  // that command's failure reply, and the error is logged with the connection id and the verb."
  test('a throwing handler answers with its failure reply and keeps the connection', async () => {
    client.send('BOOM bang');
    await client.expectLine('RESULT BOOM bang 0');
    client.send('CHANNELS');
    await client.expectLine('RESULT CHANNELS ');
  });

  test('a throwing handler is logged with the connection id and the verb', async () => {
    client.send('BOOM bang');
    await client.expectLine('RESULT BOOM bang 0');
    expect(errors()).toEqual([expect.stringMatching(/^c\d+ BOOM failed: storage exploded$/)]);
    expect(logs.atLeast(LEVEL.error)[0]).toMatchObject({ verb: 'BOOM', err: { message: 'storage exploded' } });
  });

  test('an expected refusal gets the failure reply without an error log', async () => {
    client.send('DENY');
    await client.expectLine('RESULT DENY 0');
    expect(errors()).toEqual([]);
  });

  test('a command that cannot fail sends nothing when its handler throws, and logs it', async () => {
    client.send('PEEK');
    await client.expectSilence(150);
    expect(errors()).toEqual([expect.stringMatching(/^c\d+ PEEK failed/)]);
    client.send('CHANNELS');
    await client.expectLine('RESULT CHANNELS ');
  });

  test('a new module adds its verbs without touching the transport', async () => {
    client.send('boom bang');
    client.send('BOOM');
    await client.expectLine('RESULT BOOM 0');
  });
});

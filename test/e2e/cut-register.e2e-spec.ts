import { testDatabases } from './harness/databases';
import { LEVEL, LogCapture } from './harness/log-capture';
import { LineClient } from './harness/line-client';
import { TestServer } from './harness/test-server';

// A never-LF client's REGISTER whose bytes arrive in two parts more than idleFlushMs apart
// (docs/PROTOCOL.md §1, "A command cut in two"). The transcripts in framing.json cover the replies;
// this checks what the account ends up with and what the operator is told, on each database.
for (const database of testDatabases()) {
  describe(`a REGISTER cut in two (${database.name})`, () => {
    let server: TestServer | undefined;
    const clients: LineClient[] = [];
    const logs = new LogCapture();

    afterEach(async () => {
      for (const client of clients.splice(0)) client.close();
      await server?.stop();
      server = undefined;
      logs.clear();
    });

    afterAll(() => database.dispose());

    async function connect(name: string): Promise<LineClient> {
      const client = await LineClient.connect((server as TestServer).port, name);
      clients.push(client);
      return client;
    }

    test('the account gets the whole password, one reply is sent, and the completion is logged without the password', async () => {
      server = await TestServer.start(await database.fresh(), { logLevel: 'warn' }, { logDestination: logs });
      const writer = await connect('writer');
      writer.write('REGISTER vic hun');
      await writer.expectLine('RESULT REGISTER 1');
      writer.write('ter2');
      await writer.expectSilence(300);
      // The writer's next command runs after the completion: from here the old password is gone.
      writer.write('LOGIN vic hun');
      await writer.expectLine('RESULT LOGIN 0');

      const other = await connect('other');
      other.send('LOGIN vic hunter2');
      await other.expectLine('RESULT LOGIN 1');
      const warnings = logs.atLeast(LEVEL.warn).map((entry) => entry.msg);
      expect(warnings).toContain(
        'REGISTER of "vic" from 127.0.0.1 arrived in two parts more than idleFlushMs apart; the account\'s password is both parts together',
      );
      expect(logs.raw.join('')).not.toContain('hun');
    });

    test('a rest that does not complete the REGISTER is logged, and the account keeps its first password', async () => {
      server = await TestServer.start(await database.fresh(), { logLevel: 'warn' }, { logDestination: logs });
      const writer = await connect('writer');
      writer.write('REGISTER vic hun');
      await writer.expectLine('RESULT REGISTER 1');
      writer.write('ter2 and more');
      await writer.expectSilence(300);
      writer.write('LOGIN vic hun');
      await writer.expectLine('RESULT LOGIN 1');
      const entry = logs.atLeast(LEVEL.warn).find((each) => each.msg.includes('does not complete it'));
      expect(entry).toMatchObject({
        verb: 'REGISTER',
        msg: 'a REGISTER taken by the idle flush was followed by a segment that does not complete it; the REGISTER stands as first received',
      });
      expect(logs.raw.join('')).not.toContain('hun');
    });
  });
}

import { Command } from '../../src/transport/command';
import { COMPLETION_WINDOW_MS, CutCommands } from '../../src/transport/cut-commands';
import { Frame } from '../../src/transport/line-framer';

const register: Command = { verb: 'REGISTER', args: { user: 'vic', password: 'hun' } };
const flushed = (text: string): Frame => ({ kind: 'line', bytes: Buffer.from(text), flushed: true });
const line = (text: string): Frame => ({ kind: 'line', bytes: Buffer.from(text) });

describe('CutCommands', () => {
  let now = 0;
  const cuts = new CutCommands(() => now);
  const connection = {};

  beforeEach(() => (now = 1_000));

  it('remembers a command the idle flush took, once, for the next segment', () => {
    cuts.remember(connection, flushed('REGISTER vic hun'), register);
    const cut = cuts.take(connection);
    expect(cut?.command).toBe(register);
    expect(cuts.take(connection)).toBeUndefined();
    expect(CutCommands.joined(cut as NonNullable<typeof cut>, line('ter2'))).toEqual(line('REGISTER vic hunter2'));
  });

  it('does not remember a line that ended with an LF', () => {
    cuts.remember(connection, line('REGISTER vic hun'), register);
    expect(cuts.take(connection)).toBeUndefined();
  });

  it(`forgets a cut command after ${COMPLETION_WINDOW_MS} ms`, () => {
    cuts.remember(connection, flushed('REGISTER vic hun'), register);
    now += COMPLETION_WINDOW_MS;
    expect(cuts.take(connection)).toBeDefined();
    cuts.remember(connection, flushed('REGISTER vic hun'), register);
    now += COMPLETION_WINDOW_MS + 1;
    expect(cuts.take(connection)).toBeUndefined();
  });

  it.each(['QUIT', 'PING', 'X-1'])('does not take the command word %s for the rest of a line', (word) => {
    cuts.remember(connection, flushed('REGISTER vic hun'), register);
    const cut = cuts.take(connection) as NonNullable<ReturnType<CutCommands['take']>>;
    expect(CutCommands.joined(cut, line(word))).toBeUndefined();
  });

  it('takes a rest that is lower case, mixed or starts with a digit', () => {
    cuts.remember(connection, flushed('REGISTER vic hun'), register);
    const cut = cuts.take(connection) as NonNullable<ReturnType<CutCommands['take']>>;
    for (const rest of ['ter2', 'Ter2', '2024', 'TEr2x']) expect(CutCommands.joined(cut, line(rest))).toBeDefined();
  });

  it('never joins an overflowed line', () => {
    cuts.remember(connection, flushed('REGISTER vic hun'), register);
    const cut = cuts.take(connection) as NonNullable<ReturnType<CutCommands['take']>>;
    expect(CutCommands.joined(cut, { kind: 'overflow', prefix: Buffer.from('ter2') })).toBeUndefined();
  });
});

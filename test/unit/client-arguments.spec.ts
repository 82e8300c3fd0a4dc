import { parseClientArguments } from '../../src/client/client-arguments';

function parse(argv: string[]) {
  const printed: string[] = [];
  return { result: parseClientArguments(argv, (text) => printed.push(text)), printed: printed.join('') };
}

describe('parseClientArguments', () => {
  test('defaults to 127.0.0.1, port 4400, no script, a 500 ms wait and a 30000 ms timeout', () => {
    expect(parse([]).result).toEqual({ host: '127.0.0.1', port: 4400, script: undefined, waitMs: 500, timeoutMs: 30000 });
  });

  test('takes a host and a port', () => {
    expect(parse(['chat.example', '4401']).result).toMatchObject({ host: 'chat.example', port: 4401 });
  });

  test('takes --script and --wait', () => {
    expect(parse(['--script', 'session.txt', '--wait', '50']).result).toMatchObject({ script: 'session.txt', waitMs: 50 });
  });

  test('refuses a port that is not a whole number up to 65535', () => {
    expect(() => parse(['host', '70000'])).toThrow(/port must be a whole number up to 65535/);
    expect(() => parse(['host', 'x'])).toThrow(/port must be a whole number/);
  });

  test('refuses a --wait that is not a whole number', () => {
    expect(() => parse(['--wait', 'soon'])).toThrow(/--wait must be a whole number/);
  });

  test('takes --timeout', () => {
    expect(parse(['--timeout', '250']).result).toMatchObject({ timeoutMs: 250, waitMs: 500 });
  });

  test('refuses a --timeout that is not a whole number up to an hour', () => {
    expect(() => parse(['--timeout', '-1'])).toThrow(/--timeout must be a whole number up to 3600000/);
    expect(() => parse(['--timeout', '3600001'])).toThrow(/--timeout must be a whole number up to 3600000/);
  });

  test('--help lists the options of script mode and the exit codes', () => {
    const { printed } = parse(['--help']);
    expect(printed).toContain('--timeout <ms>');
    expect(printed).toContain('--wait <ms>');
    expect(printed).toMatch(
      /Exit codes:[^]*\n {2}1 {2}cannot connect[^]*\n {2}2 {2}bad arguments[^]*\n {2}3 {2}script mode: replies still missing/,
    );
  });

  test('--help prints the usage and returns nothing to run', () => {
    const { result, printed } = parse(['--help']);
    expect(result).toBeUndefined();
    expect(printed).toContain('Usage: chat-client [options] [host] [port]');
  });
});

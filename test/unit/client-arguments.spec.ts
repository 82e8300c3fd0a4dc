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

  test('connects in plain TCP unless a TLS option is given', () => {
    expect(parse(['chat.example', '4401']).result?.tls).toBeUndefined();
  });

  test('--tls verifies the certificate against the system CAs: no fingerprint and no CA file', () => {
    expect(parse(['--tls', 'chat.example', '4401']).result).toMatchObject({
      host: 'chat.example',
      port: 4401,
      tls: { fingerprint: undefined, caFile: undefined },
    });
  });

  test('--tls-fingerprint takes 64 hex digits with or without colons, as Node spells fingerprint256', () => {
    const hex = 'ab'.repeat(32);
    const expected = Array(32).fill('AB').join(':');
    expect(parse(['--tls', '--tls-fingerprint', hex]).result?.tls).toEqual({ fingerprint: expected, caFile: undefined });
    expect(parse(['--tls', '--tls-fingerprint', expected.toLowerCase()]).result?.tls?.fingerprint).toBe(expected);
  });

  test('--tls-fingerprint and --tls-ca imply --tls', () => {
    expect(parse(['--tls-fingerprint', 'cd'.repeat(32)]).result?.tls?.fingerprint).toMatch(/^CD:/);
    expect(parse(['--tls-ca', 'ca.pem']).result?.tls).toEqual({ fingerprint: undefined, caFile: 'ca.pem' });
  });

  test('refuses a --tls-fingerprint that is not a SHA-256 fingerprint', () => {
    expect(() => parse(['--tls-fingerprint', 'ab:cd'])).toThrow(/--tls-fingerprint must be a SHA-256 fingerprint/);
    expect(() => parse(['--tls-fingerprint', 'zz'.repeat(32)])).toThrow(/--tls-fingerprint must be a SHA-256 fingerprint/);
  });

  test('refuses --tls-fingerprint together with --tls-ca', () => {
    expect(() => parse(['--tls-fingerprint', 'ab'.repeat(32), '--tls-ca', 'ca.pem'])).toThrow(/cannot be used with/);
  });

  test('--help lists the TLS options and says a certificate not trusted exits 1', () => {
    const { printed } = parse(['--help']);
    expect(printed).toContain('--tls-fingerprint <sha256>');
    expect(printed).toContain('--tls-ca <file>');
    expect(printed).toMatch(/\n {2}1 {2}cannot connect \(with --tls: the server's certificate is not trusted/);
  });

  test('--help prints the usage and returns nothing to run', () => {
    const { result, printed } = parse(['--help']);
    expect(result).toBeUndefined();
    expect(printed).toContain('Usage: chat-client [options] [host] [port]');
  });
});

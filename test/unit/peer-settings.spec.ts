import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../src/config/configuration-error';
import { loadSettings } from '../../src/config/load-settings';
import { Settings } from '../../src/config/settings';
import { ConfiguredPeers } from '../../src/modules/federation/configured-peers';

const FINGERPRINT = 'AB:'.repeat(31) + 'AB';
const SECRET = 'a-secret-of-32-characters-000000';

let dir: string;
let count = 0;

beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'chat-peers-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(text: string): string {
  const path = join(dir, `file-${++count}`);
  writeFileSync(path, text);
  return path;
}

function fromYaml(text: string): Settings {
  return loadSettings({ configurationPath: file(text) }, {});
}

function refusal(text: string): string {
  try {
    fromYaml(text);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigurationError, nothing was thrown');
}

describe('peer entries (docs/PROTOCOL.md §6.1)', () => {
  test('a mapping gives the address, the name, the secret and the pinned certificate; plain entries stay addresses', () => {
    const settings = fromYaml(
      [
        'tls: { certFile: /c.pem, keyFile: /k.pem }',
        'federation:',
        '  peers:',
        '    - 10.0.0.1:4400',
        '    - address: 10.0.0.2:4401',
        '      hostname: b.example',
        `      secret: ${SECRET}`,
        `      tls: { fingerprint: "${FINGERPRINT.toLowerCase().replace(/:/g, '')}" }`,
      ].join('\n'),
    );
    expect(settings.federation.peers).toEqual([
      { host: '10.0.0.1', port: 4400 },
      { host: '10.0.0.2', port: 4401, hostname: 'b.example', secret: SECRET, tls: { fingerprint: FINGERPRINT } },
    ]);
  });

  test('secretFile is read and trimmed', () => {
    const secretFile = file(`${SECRET}\n`);
    const settings = fromYaml(`federation:\n  peers:\n    - { address: "10.0.0.2:1", secretFile: ${secretFile} }\n`);
    expect(settings.federation.peers[0].secret).toBe(SECRET);
  });

  test.each([
    ['a short secret', `{ address: "h:1", secret: short }`, 'must be at least 16 characters'],
    ['secret and secretFile', `{ address: "h:1", secret: ${SECRET}, secretFile: /x }`, 'give secret or secretFile, not both'],
    ['a bad fingerprint', `{ address: "h:1", tls: { fingerprint: "12:34" } }`, 'expected a SHA-256 fingerprint'],
    ['an unknown key', `{ address: "h:1", password: x }`, 'federation.peers.0'],
    ['a hostname with a comma', `{ address: "h:1", hostname: "a,b" }`, 'must not contain ","'],
  ])('%s is refused', (_, entry, message) => {
    expect(refusal(`federation:\n  peers:\n    - ${entry}\n`)).toContain(message);
  });

  test('a TLS peer needs this server’s certificate', () => {
    expect(refusal(`federation:\n  peers:\n    - { address: "h:1", tls: { fingerprint: "${FINGERPRINT}" } }\n`)).toContain(
      'federation.peers.0.tls: a TLS link needs this server’s certificate'.replace('’', "'"),
    );
  });

  test('two peers may not share a name, and none may have this server’s', () => {
    expect(refusal(`hostname: me.example\nfederation:\n  peers:\n    - { address: "h:1", hostname: me.example }\n`)).toContain(
      "is this server's own hostname",
    );
    expect(
      refusal(
        `federation:\n  peers:\n    - { address: "h:1", hostname: b.example }\n    - { address: "g:2", hostname: b.example }\n`,
      ),
    ).toContain('is already the name of federation.peers.0');
  });

  test('a problem found once the values are known names where the key was set', () => {
    const path = file(
      'federation:\n  peers:\n    - { address: "h:1", hostname: b.example }\n    - { address: "g:2", hostname: b.example }\n',
    );
    expect(() => loadSettings({ configurationPath: path }, {})).toThrow(
      `${path}: federation.peers.1: "b.example" is already the name of federation.peers.0`,
    );
    expect(() => loadSettings({}, { TLS_PORT: '4443' })).toThrow(
      'environment variable TLS_PORT: tls.port: a TLS port needs tls.certFile and tls.keyFile',
    );
  });

  test('tls needs both files, and a TLS port needs them', () => {
    expect(refusal('tls: { certFile: /c.pem }\n')).toContain('tls.keyFile');
    expect(refusal('tls: { port: 4443 }\n')).toContain('tls.port: a TLS port needs tls.certFile and tls.keyFile');
  });
});

describe('the names a configured peer may hold', () => {
  function peers(text: string): ConfiguredPeers {
    return new ConfiguredPeers(fromYaml(text), () => undefined);
  }

  test('its hostname when configured, and nothing else', () => {
    const configured = peers('federation:\n  peers:\n    - { address: "10.0.0.2:1", hostname: b.example }\n');
    expect([configured.isPeerName('b.example'), configured.isPeerName('10.0.0.2:1'), configured.isPeerName('10.0.0.2')]).toEqual([
      true,
      false,
      false,
    ]);
  });

  test('otherwise its address, and its bare host only when no other peer has that host', () => {
    const configured = peers('federation:\n  peers:\n    - 10.0.0.2:1\n    - 10.0.0.3:1\n    - 10.0.0.3:2\n');
    expect(['10.0.0.2:1', '10.0.0.2', '10.0.0.3:1', '10.0.0.3:2', '10.0.0.3'].map((name) => configured.isPeerName(name))).toEqual(
      [true, true, true, true, false],
    );
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '../../src/config/configuration-error';
import { InformationShown, parseLaunchArguments } from '../../src/config/launch-arguments';
import { ENVIRONMENT, loadSettings } from '../../src/config/load-settings';
import { DEFAULT_LIMITS, Settings } from '../../src/config/settings';

let dir: string;
let fileCount = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'chat-settings-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Writes `text` to a fresh file in the temporary directory and returns its path. */
function file(text: string, name = `config-${++fileCount}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function fromFile(text: string, env: Record<string, string> = {}): Settings {
  return loadSettings({ configurationPath: file(text) }, env);
}

/** The ConfigurationError thrown by `action`; fails the test if none is thrown. */
function configurationError(action: () => unknown): ConfigurationError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError, nothing was thrown');
}

describe('loadSettings', () => {
  describe('defaults', () => {
    it('uses the documented defaults without file, environment or port', () => {
      expect(loadSettings({}, {})).toEqual({
        port: 4400,
        host: '0.0.0.0',
        hostname: '127.0.0.1:4400',
        database: {
          url: undefined,
          dataDir: './data',
          connectRetries: 5,
          connectRetryDelayMs: 2000,
          connectTimeoutMs: 5000,
          statementTimeoutMs: 5000,
        },
        federation: { peers: [], acceptFrom: 'listed', requestTimeoutMs: 5000 },
        http: { port: 0, host: '127.0.0.1' },
        limits: DEFAULT_LIMITS,
        idleFlushMs: 100,
        bcryptCost: 10,
        logLevel: 'info',
        logFormat: 'auto',
      });
    });

    it('leaves the database URL unset by default (embedded database)', () => {
      expect(loadSettings({}, {}).database.url).toBeUndefined();
    });

    it('ignores environment variables it does not know', () => {
      expect(loadSettings({}, { HOME: '/root', CHAT_COLOUR: 'red' })).toEqual(loadSettings({}, {}));
    });

    it('treats an empty YAML document as no keys', () => {
      expect(fromFile('---\n')).toEqual(loadSettings({}, {}));
    });
  });

  describe('YAML configuration file', () => {
    it('reads every key from a YAML file', () => {
      const settings = fromFile(
        [
          'port: 4401',
          'host: 127.0.0.1',
          'hostname: chat.example',
          'database:',
          '  url: postgres://u:p@db/chat',
          '  dataDir: /var/lib/chat',
          '  connectRetries: 10',
          '  connectRetryDelayMs: 500',
          '  connectTimeoutMs: 3000',
          '  statementTimeoutMs: 8000',
          'federation:',
          '  peers: ["a.example:4402", "b.example:4403"]',
          '  acceptFrom: ["10.0.0.1", "10.0.0.2"]',
          '  requestTimeoutMs: 2500',
          'http:',
          '  port: 9400',
          '  host: 10.0.0.5',
          'limits:',
          '  maxLineBytes: 1024',
          'idleFlushMs: 0',
          'bcryptCost: 12',
          'logLevel: debug',
          'logFormat: json',
          '',
        ].join('\n'),
      );
      expect(settings).toEqual({
        port: 4401,
        host: '127.0.0.1',
        hostname: 'chat.example',
        database: {
          url: 'postgres://u:p@db/chat',
          dataDir: '/var/lib/chat',
          connectRetries: 10,
          connectRetryDelayMs: 500,
          connectTimeoutMs: 3000,
          statementTimeoutMs: 8000,
        },
        federation: {
          peers: [
            { host: 'a.example', port: 4402 },
            { host: 'b.example', port: 4403 },
          ],
          acceptFrom: ['10.0.0.1', '10.0.0.2'],
          requestTimeoutMs: 2500,
        },
        http: { port: 9400, host: '10.0.0.5' },
        limits: { ...DEFAULT_LIMITS, maxLineBytes: 1024 },
        idleFlushMs: 0,
        bcryptCost: 12,
        logLevel: 'debug',
        logFormat: 'json',
      });
    });

    it('reads a JSON file as YAML', () => {
      const settings = fromFile('{"port": 4402, "limits": {"maxLineBytes": 2048}, "logLevel": "warn"}');
      expect([settings.port, settings.limits.maxLineBytes, settings.logLevel]).toEqual([4402, 2048, 'warn']);
    });

    it('accepts a hostname containing a colon', () => {
      expect(fromFile('hostname: chat.example:4401\n').hostname).toBe('chat.example:4401');
    });

    it('derives the default hostname from the port set in the file', () => {
      expect(fromFile('port: 4405\n').hostname).toBe('127.0.0.1:4405');
    });

    it('keeps defaults for keys the file does not set', () => {
      const settings = fromFile('port: 4401\n');
      expect([settings.host, settings.bcryptCost, settings.database.dataDir]).toEqual(['0.0.0.0', 10, './data']);
    });

    it('reads peers from a peersFile named in the YAML file', () => {
      const peers = file('x.example:1\n', 'peers-from-yaml.txt');
      expect(fromFile(`federation:\n  peersFile: ${peers}\n`).federation.peers).toEqual([{ host: 'x.example', port: 1 }]);
    });

    it('appends the peersFile peers after the listed peers', () => {
      const peers = file('x.example:1\n', 'peers-appended.txt');
      const settings = fromFile(`federation:\n  peers: ["a.example:2"]\n  peersFile: ${peers}\n`);
      expect(settings.federation.peers).toEqual([
        { host: 'a.example', port: 2 },
        { host: 'x.example', port: 1 },
      ]);
    });
  });

  describe('peers-list configuration file', () => {
    it('reads a file of host:port lines as federation peers', () => {
      const settings = fromFile('a.example:4401\n10.0.0.2:4402\n');
      expect(settings.federation.peers).toEqual([
        { host: 'a.example', port: 4401 },
        { host: '10.0.0.2', port: 4402 },
      ]);
    });

    it('skips blank lines, # comments and surrounding spaces in a peers list', () => {
      const settings = fromFile('# peers\n\n  a.example:4401  \r\n   \n# b.example:9\nc.example:4403\n');
      expect(settings.federation.peers).toEqual([
        { host: 'a.example', port: 4401 },
        { host: 'c.example', port: 4403 },
      ]);
    });

    it('leaves the other settings at their defaults for a peers list', () => {
      const settings = fromFile('a.example:4401\n');
      expect({ ...settings, federation: { ...settings.federation, peers: [] } }).toEqual(loadSettings({}, {}));
    });

    it('reads an empty file as an empty peers list', () => {
      expect(fromFile('').federation.peers).toEqual([]);
    });

    it('refuses a peers-list line with a port out of range, naming the file and the line', () => {
      const path = file('a.example:70000\n');
      const error = configurationError(() => loadSettings({ configurationPath: path }, {}));
      expect(error.message).toBe(`${path}: line 1: expected <host>:<port> with a port from 1 to 65535, got "a.example:70000"`);
    });

    it.each(['127.0.0.1:99999', '127.0.0.1:', 'localhost 4402', '127.0.0.1:0', 'localhost: 4402'])(
      'names a bad line %j among peer lines instead of reading the file as YAML',
      (bad) => {
        const path = file(`# peers\n127.0.0.1:4401\n\n127.0.0.1:4402\n${bad}\n127.0.0.1:4403\n`);
        const error = configurationError(() => loadSettings({ configurationPath: path }, {}));
        expect(error.message).toBe(
          `${path}: line 5: expected <host>:<port> with a port from 1 to 65535, got ${JSON.stringify(bad)}`,
        );
      },
    );

    it('reads a file of one good and one bad peer line as a peers list', () => {
      const path = file('a.example:4401\nb.example\n');
      const error = configurationError(() => loadSettings({ configurationPath: path }, {}));
      expect(error.message).toBe(`${path}: line 2: expected <host>:<port> with a port from 1 to 65535, got "b.example"`);
    });

    it('reads a YAML mapping as configuration even beside lines shaped like peers', () => {
      const path = file('hostname: a.example:4401\nport: 4401\nhost: 127.0.0.1\n');
      expect(loadSettings({ configurationPath: path }, {})).toMatchObject({ hostname: 'a.example:4401', port: 4401 });
    });

    it('reports broken YAML with a stray peer line as YAML, when peer lines are the minority', () => {
      const path = file('port: 4401\nhost: 127.0.0.1\na.example:4402\n');
      const error = configurationError(() => loadSettings({ configurationPath: path }, {}));
      expect(error.message).toMatch(new RegExp(`^${escape(path)}: not a peers list and not valid YAML: \\S`));
    });
  });

  describe('environment', () => {
    it('overrides the file with PORT', () => {
      expect(fromFile('port: 4401\n', { PORT: '4500' }).port).toBe(4500);
    });

    it('derives the default hostname from PORT', () => {
      expect(loadSettings({}, { PORT: '4500' }).hostname).toBe('127.0.0.1:4500');
    });

    it('overrides the file with HOST', () => {
      expect(fromFile('host: 10.0.0.1\n', { HOST: '::' }).host).toBe('::');
    });

    it('overrides the file with CHAT_HOSTNAME', () => {
      expect(fromFile('hostname: a.example\n', { CHAT_HOSTNAME: 'b.example:4401' }).hostname).toBe('b.example:4401');
    });

    it('overrides the file with DATABASE_URL', () => {
      const settings = fromFile('database:\n  url: postgres://file/db\n', { DATABASE_URL: 'postgres://env/db' });
      expect(settings.database.url).toBe('postgres://env/db');
    });

    it('overrides the file with CHAT_DATA_DIR, keeping the file database.url', () => {
      const settings = fromFile('database:\n  url: postgres://file/db\n  dataDir: /a\n', { CHAT_DATA_DIR: '/b' });
      expect(settings.database).toMatchObject({ url: 'postgres://file/db', dataDir: '/b' });
    });

    it('reads the template folder from the file, CHAT_TEMPLATE_DIR overriding it; unset by default', () => {
      expect(loadSettings({}, {}).database.templateDir).toBeUndefined();
      expect(fromFile('database:\n  templateDir: /t\n', {}).database.templateDir).toBe('/t');
      expect(fromFile('database:\n  templateDir: /t\n', { CHAT_TEMPLATE_DIR: '/u' }).database.templateDir).toBe('/u');
    });

    it('sets a nested key from the environment when the file section is empty', () => {
      expect(fromFile('database:\n', { CHAT_DATA_DIR: '/b' }).database.dataDir).toBe('/b');
    });

    it('reads CHAT_PEERS as a comma-separated list, ignoring spaces and empty items', () => {
      const settings = loadSettings({}, { CHAT_PEERS: ' a.example:1, b.example:2,,' });
      expect(settings.federation.peers).toEqual([
        { host: 'a.example', port: 1 },
        { host: 'b.example', port: 2 },
      ]);
    });

    it('overrides the peers of a peers-list file with CHAT_PEERS', () => {
      const settings = fromFile('a.example:1\n', { CHAT_PEERS: 'b.example:2' });
      expect(settings.federation.peers).toEqual([{ host: 'b.example', port: 2 }]);
    });

    it('reads the peers file named by CHAT_PEERS_FILE', () => {
      const peers = file('# list\n\nz.example:7\n', 'peers-env.txt');
      expect(loadSettings({}, { CHAT_PEERS_FILE: peers }).federation.peers).toEqual([{ host: 'z.example', port: 7 }]);
    });

    it('overrides the file with BCRYPT_COST', () => {
      expect(fromFile('bcryptCost: 12\n', { BCRYPT_COST: '4' }).bcryptCost).toBe(4);
    });

    it('overrides the file with LOG_LEVEL', () => {
      expect(fromFile('logLevel: debug\n', { LOG_LEVEL: 'error' }).logLevel).toBe('error');
    });

    it('overrides the file with LOG_FORMAT', () => {
      expect(fromFile('logFormat: pretty\n', { LOG_FORMAT: 'json' }).logFormat).toBe('json');
    });

    it('overrides the file with HTTP_PORT', () => {
      expect(fromFile('http:\n  port: 9401\n', { HTTP_PORT: '9400' }).http).toEqual({ port: 9400, host: '127.0.0.1' });
    });

    it('overrides the file with HTTP_HOST', () => {
      expect(fromFile('http:\n  host: 10.0.0.1\n', { HTTP_HOST: '0.0.0.0' }).http.host).toBe('0.0.0.0');
    });

    it('keeps HTTP on loopback by default even when the line protocol listens on every interface', () => {
      expect(loadSettings({}, { HOST: '0.0.0.0', HTTP_PORT: '9400' }).http).toEqual({ port: 9400, host: '127.0.0.1' });
    });

    it('overrides the file with DATABASE_CONNECT_RETRIES and DATABASE_CONNECT_RETRY_DELAY_MS', () => {
      const settings = fromFile('database:\n  connectRetries: 9\n  connectRetryDelayMs: 900\n', {
        DATABASE_CONNECT_RETRIES: '0',
        DATABASE_CONNECT_RETRY_DELAY_MS: '50',
      });
      expect(settings.database).toMatchObject({ connectRetries: 0, connectRetryDelayMs: 50 });
    });

    it('ignores an empty environment variable', () => {
      expect(fromFile('port: 4401\nhost: 10.0.0.1\n', { PORT: '', HOST: '' })).toMatchObject({
        port: 4401,
        host: '10.0.0.1',
      });
    });

    it('accepts an integer variable with surrounding spaces', () => {
      expect(loadSettings({}, { PORT: ' 4402 ' }).port).toBe(4402);
    });
  });

  describe('cluster mode and the PROXY protocol', () => {
    const pg = 'postgres://chat@db:5432/chat';

    it('is off unless a Redis URL is set: no cluster and no PROXY protocol settings', () => {
      const settings = loadSettings({}, { DATABASE_URL: pg });
      expect(settings.cluster).toBeUndefined();
      expect(settings.proxyProtocol).toBeUndefined();
    });

    it('reads REDIS_URL, INSTANCE_ID and CLUSTER_LEASE_MS', () => {
      const settings = loadSettings(
        {},
        { DATABASE_URL: pg, REDIS_URL: 'redis://cache:6379/0', INSTANCE_ID: 'chat-2', CLUSTER_LEASE_MS: '3000' },
      );
      expect(settings.cluster).toEqual({ redisUrl: 'redis://cache:6379/0', instanceId: 'chat-2', leaseMs: 3000 });
    });

    it('defaults the instance id to the machine name and the process id, and the lease to 10 s', () => {
      const settings = fromFile(`database:\n  url: ${pg}\ncluster:\n  redisUrl: rediss://cache\n`);
      expect(settings.cluster?.leaseMs).toBe(10_000);
      expect(settings.cluster?.instanceId).toMatch(new RegExp(`^[A-Za-z0-9._-]+-${process.pid}$`));
    });

    it('refuses cluster mode on the embedded database with one line naming both keys', () => {
      const error = configurationError(() => loadSettings({}, { REDIS_URL: 'redis://127.0.0.1:6379' }));
      expect(error.message).toBe(
        'cluster mode (cluster.redisUrl, REDIS_URL) needs PostgreSQL (database.url, DATABASE_URL): the embedded database belongs to one process',
      );
    });

    it.each([
      ['notaurl', 'not a URL'],
      ['http://cache:6379', 'expected a redis:// or rediss:// URL, got the scheme "http"'],
    ])('refuses the Redis URL %j without echoing it', (url, message) => {
      const error = configurationError(() => loadSettings({}, { DATABASE_URL: pg, REDIS_URL: url }));
      expect(error.message).toContain(`environment variable REDIS_URL: cluster.redisUrl: ${message}`);
    });

    it('refuses an instance id that is not safe in keys and labels', () => {
      const error = configurationError(() =>
        loadSettings({}, { DATABASE_URL: pg, REDIS_URL: 'redis://cache', INSTANCE_ID: 'a b' }),
      );
      expect(error.message).toContain('cluster.instanceId: expected 1 to 64 letters, digits');
    });

    it('refuses a lease under a second', () => {
      const error = configurationError(() =>
        loadSettings({}, { DATABASE_URL: pg, REDIS_URL: 'redis://cache', CLUSTER_LEASE_MS: '10' }),
      );
      expect(error.message).toContain('cluster.leaseMs: must be from 1000 to 600000');
    });

    it('reads the load balancers allowed to send a PROXY header from PROXY_PROTOCOL_FROM or the file', () => {
      expect(loadSettings({}, { PROXY_PROTOCOL_FROM: '10.0.0.5, 10.0.0.6' }).proxyProtocol).toEqual({
        from: ['10.0.0.5', '10.0.0.6'],
      });
      expect(fromFile('proxyProtocol:\n  from: [127.0.0.2]\n').proxyProtocol).toEqual({ from: ['127.0.0.2'] });
    });
  });

  describe('command-line port', () => {
    it('overrides the environment and the file', () => {
      expect(loadSettings({ port: 4403, configurationPath: file('port: 4401\n') }, { PORT: '4402' }).port).toBe(4403);
    });

    it('sets the default hostname from the effective (command-line) port', () => {
      expect(loadSettings({ port: 4403 }, { PORT: '4402' }).hostname).toBe('127.0.0.1:4403');
    });

    it('does not change an explicit hostname', () => {
      expect(loadSettings({ port: 4403 }, { CHAT_HOSTNAME: 'chat.example' }).hostname).toBe('chat.example');
    });
  });

  describe('errors', () => {
    it('refuses an unreadable file, naming it and the reason', () => {
      const path = join(dir, 'missing.yaml');
      const error = configurationError(() => loadSettings({ configurationPath: path }, {}));
      expect(error.message).toBe(`${path}: cannot read the file (ENOENT)`);
    });

    it('refuses a directory given as configuration file', () => {
      const error = configurationError(() => loadSettings({ configurationPath: dir }, {}));
      expect(error.message).toBe(`${dir}: cannot read the file (EISDIR)`);
    });

    it('refuses invalid YAML, naming the file and the problem', () => {
      const path = file('port: [4401\nhost: x\n');
      const error = configurationError(() => loadSettings({ configurationPath: path }, {}));
      expect(error.message).toMatch(new RegExp(`^${escape(path)}: not a peers list and not valid YAML: \\S`));
    });

    it('reports an invalid YAML problem on one line', () => {
      const path = file('port: [4401\nhost: x\n');
      const error = configurationError(() => loadSettings({ configurationPath: path }, {}));
      expect(error.message).not.toContain('\n');
    });

    it('refuses a YAML scalar document', () => {
      const path = file('just some words\n');
      const error = configurationError(() => loadSettings({ configurationPath: path }, {}));
      expect(error.message).toBe(`${path}: expected a mapping of configuration keys or a list of <host>:<port> lines`);
    });

    it('refuses a YAML list document', () => {
      const path = file('- port\n- host\n');
      const error = configurationError(() => loadSettings({ configurationPath: path }, {}));
      expect(error.message).toBe(`${path}: expected a mapping of configuration keys or a list of <host>:<port> lines`);
    });

    it('refuses an unknown top-level key, naming the file and the key', () => {
      const path = file('port: 4401\ncolour: red\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(`${path}: unknown key colour`);
    });

    it('refuses an unknown nested key with its full dotted name', () => {
      const path = file('limits:\n  foo: 1\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: unknown key limits.foo`,
      );
    });

    it('names every unknown key of the same section', () => {
      const path = file('database:\n  user: a\n  password: b\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: unknown key database.user, database.password`,
      );
    });

    it("names every unknown key of a peer's mapping, inside the list", () => {
      const path = file('federation:\n  peers:\n    - { address: "h.example:1", password: x, colour: y }\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: unknown key federation.peers.0.password, federation.peers.0.colour`,
      );
    });

    it("names a peer mapping's missing address", () => {
      const path = file('federation:\n  peers:\n    - { hostname: h.example }\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: federation.peers.0.address: must be given`,
      );
    });

    it('refuses a peer that is neither <host>:<port> nor a mapping', () => {
      const path = file('federation:\n  peers: [5]\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: federation.peers.0: expected <host>:<port> or a mapping with an address`,
      );
    });

    it('refuses a section that is not a mapping', () => {
      const path = file('limits: 5\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: limits: expected a mapping`,
      );
    });

    it('shows an infinite number as it is', () => {
      const path = file('idleFlushMs: .inf\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: idleFlushMs: expected an integer, got Infinity`,
      );
    });

    it('refuses a string where an integer is expected', () => {
      const path = file('port: "4401"\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: port: expected an integer, got "4401"`,
      );
    });

    it('refuses a fractional number where an integer is expected', () => {
      const path = file('idleFlushMs: 1.5\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: idleFlushMs: expected an integer, got 1.5`,
      );
    });

    it('refuses a number where a string is expected', () => {
      const path = file('host: 5\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: host: expected a string`,
      );
    });

    it('refuses an empty string value', () => {
      const path = file('hostname: ""\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: hostname: must not be empty`,
      );
    });

    it('refuses limits.maxLineBytes 10 as below the minimum', () => {
      const path = file('limits:\n  maxLineBytes: 10\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: limits.maxLineBytes: must be from 256 to 1048576, got 10`,
      );
    });

    it('refuses port 70000 as above the maximum', () => {
      const path = file('port: 70000\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: port: must be from 0 to 65535, got 70000`,
      );
    });

    it('refuses bcryptCost 3 as below the minimum', () => {
      const path = file('bcryptCost: 3\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: bcryptCost: must be from 4 to 20, got 3`,
      );
    });

    it('refuses an unknown logLevel in the file', () => {
      const path = file('logLevel: verbose\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: logLevel: expected one of error, warn, info, debug`,
      );
    });

    it('refuses an acceptFrom that is neither "listed" nor a list', () => {
      const path = file('federation:\n  acceptFrom: everyone\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: federation.acceptFrom: expected "listed" or a list of addresses`,
      );
    });

    it('refuses peers that are not a list', () => {
      const path = file('federation:\n  peers: a.example:1\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: federation.peers: expected a list of <host>:<port> or peer entries`,
      );
    });

    it('refuses a bad peer entry in the file, naming its index', () => {
      const path = file('federation:\n  peers: ["a.example:1", "nope"]\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: federation.peers.1: expected <host>:<port> with a port from 1 to 65535`,
      );
    });

    it('refuses a peer with port 0', () => {
      const path = file('federation:\n  peers: ["a.example:0"]\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: federation.peers.0: expected <host>:<port> with a port from 1 to 65535`,
      );
    });

    it('refuses a bad line of a peers file, naming the file and the line number', () => {
      const peers = file('# peers\na.example:1\n\nnot a peer\n', 'bad-peers.txt');
      const error = configurationError(() => loadSettings({}, { CHAT_PEERS_FILE: peers }));
      expect(error.message).toBe(`${peers}: line 4: expected <host>:<port> with a port from 1 to 65535, got "not a peer"`);
    });

    it('refuses an unreadable peers file, naming it', () => {
      const peers = join(dir, 'no-such-peers.txt');
      const error = configurationError(() => loadSettings({}, { CHAT_PEERS_FILE: peers }));
      expect(error.message).toBe(`${peers}: cannot read the file (ENOENT)`);
    });

    it('refuses a bad LOG_LEVEL, naming the variable and the key', () => {
      const error = configurationError(() => loadSettings({}, { LOG_LEVEL: 'verbose' }));
      expect(error.message).toBe('environment variable LOG_LEVEL: logLevel: expected one of error, warn, info, debug');
    });

    it('refuses a bad LOG_FORMAT, naming the variable and the key', () => {
      const error = configurationError(() => loadSettings({}, { LOG_FORMAT: 'xml' }));
      expect(error.message).toBe('environment variable LOG_FORMAT: logFormat: expected one of auto, json, pretty');
    });

    it('refuses an HTTP_PORT out of range, naming the variable and the key', () => {
      const error = configurationError(() => loadSettings({}, { HTTP_PORT: '70000' }));
      expect(error.message).toBe('environment variable HTTP_PORT: http.port: must be from 0 to 65535, got 70000');
    });

    it('refuses an unknown key under http', () => {
      const path = file('http:\n  address: 0.0.0.0\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: unknown key http.address`,
      );
    });

    it('refuses a non-integer PORT, naming the variable and the key', () => {
      const error = configurationError(() => loadSettings({}, { PORT: 'abc' }));
      expect(error.message).toBe('environment variable PORT: port: expected an integer, got "abc"');
    });

    it('refuses an out-of-range BCRYPT_COST, naming the variable rather than the file', () => {
      const path = file('bcryptCost: 12\n');
      const error = configurationError(() => loadSettings({ configurationPath: path }, { BCRYPT_COST: '3' }));
      expect(error.message).toBe('environment variable BCRYPT_COST: bcryptCost: must be from 4 to 20, got 3');
    });

    it('refuses a bad CHAT_PEERS entry, naming the variable', () => {
      const error = configurationError(() => loadSettings({}, { CHAT_PEERS: 'a.example:1,nope' }));
      expect(error.message).toMatch(/^environment variable CHAT_PEERS: federation\.peers/);
    });

    it('refuses a bad CHAT_PEERS entry, naming the variable and not the configuration file', () => {
      const path = file('port: 4401\n');
      const error = configurationError(() => loadSettings({ configurationPath: path }, { CHAT_PEERS: 'nope' }));
      expect(error.message).not.toContain(path);
    });

    it('refuses idleFlushMs above 60000', () => {
      const path = file('idleFlushMs: 70000\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: idleFlushMs: must be from 0 to 60000, got 70000`,
      );
    });

    it('refuses port -1 in the file and in PORT, with the range and the value', () => {
      const path = file('port: -1\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: port: must be from 0 to 65535, got -1`,
      );
      expect(configurationError(() => loadSettings({}, { PORT: '-1' })).message).toBe(
        'environment variable PORT: port: must be from 0 to 65535, got -1',
      );
    });

    it.each([
      ['a space', 'chat example', '" "'],
      ['a tab', 'chat\texample', '"\\t"'],
      ['a line feed', 'chat.example\n', '"\\n"'],
      ['a control character', 'chat\u0001example', '"\\u0001"'],
      ['a no-break space', 'chat\u00a0example', '"\u00a0"'],
      ['an @', 'bob@chat.example', '"@"'],
      ['a comma', 'a.example,b.example', '","'],
    ])('refuses a hostname with %s, naming the character', (_what, hostname, shown) => {
      const path = file(`hostname: ${JSON.stringify(hostname)}\n`);
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: hostname: must not contain ${shown} (whitespace, control characters, "@" and "," are not allowed)`,
      );
    });

    it('refuses a CHAT_HOSTNAME with a space, naming the variable', () => {
      expect(configurationError(() => loadSettings({}, { CHAT_HOSTNAME: 'chat example' })).message).toBe(
        'environment variable CHAT_HOSTNAME: hostname: must not contain " " (whitespace, control characters, "@" and "," are not allowed)',
      );
    });

    it('accepts a hostname of 255 characters and refuses one of 256', () => {
      expect(loadSettings({}, { CHAT_HOSTNAME: `${'h'.repeat(250)}:4401` }).hostname).toHaveLength(255);
      expect(configurationError(() => loadSettings({}, { CHAT_HOSTNAME: `${'h'.repeat(251)}:4401` })).message).toBe(
        'environment variable CHAT_HOSTNAME: hostname: must be at most 255 characters',
      );
    });

    it('accepts hostnames as federation writes them: a name, an address and a port, IPv6, non-ASCII', () => {
      for (const hostname of ['server1.com', '127.0.0.1:4401', '[::1]:4401', 'chät.example']) {
        expect(loadSettings({}, { CHAT_HOSTNAME: hostname }).hostname).toBe(hostname);
      }
    });

    it('refuses a DATABASE_URL that is not a URL, naming the variable and the key', () => {
      expect(configurationError(() => loadSettings({}, { DATABASE_URL: 'notaurl' })).message).toBe(
        'environment variable DATABASE_URL: database.url: not a URL: expected postgres://[user[:password]@]host[:port]/database' +
          ' (characters such as @ # / in the password must be percent-encoded)',
      );
    });

    it('refuses a database.url of another scheme, naming the file and the key', () => {
      const path = file('database:\n  url: mysql://u:p@db/chat\n');
      expect(configurationError(() => loadSettings({ configurationPath: path }, {})).message).toBe(
        `${path}: database.url: expected a postgres:// or postgresql:// URL, got the scheme "mysql"`,
      );
    });

    it.each(['postgres://', 'postgres:///chat', 'postgresql:chat'])('refuses the database URL %j without a host', (url) => {
      expect(configurationError(() => loadSettings({}, { DATABASE_URL: url })).message).toBe(
        'environment variable DATABASE_URL: database.url: the URL has no host: expected postgres://[user[:password]@]host[:port]/database',
      );
    });

    it('never echoes a database URL, which may hold a password', () => {
      const error = configurationError(() => loadSettings({}, { DATABASE_URL: 'postgres://chat:s3cret#1@db/chat' }));
      expect(error.message).not.toContain('s3cret');
    });

    it.each([
      'postgres://db/chat',
      'postgresql://chat:p%40ss@db.example:5433/chat?sslmode=require',
      'postgres://chat@[::1]:5432/chat',
      'postgres:///chat?host=/var/run/postgresql',
    ])('accepts the database URL %j', (url) => {
      expect(loadSettings({}, { DATABASE_URL: url }).database.url).toBe(url);
    });

    it('overrides the file with DATABASE_CONNECT_TIMEOUT_MS and DATABASE_STATEMENT_TIMEOUT_MS', () => {
      const settings = fromFile('database:\n  connectTimeoutMs: 9000\n  statementTimeoutMs: 9000\n', {
        DATABASE_CONNECT_TIMEOUT_MS: '500',
        DATABASE_STATEMENT_TIMEOUT_MS: '750',
      });
      expect(settings.database).toMatchObject({ connectTimeoutMs: 500, statementTimeoutMs: 750 });
    });

    it('refuses a database timeout under 100 ms', () => {
      expect(configurationError(() => loadSettings({}, { DATABASE_STATEMENT_TIMEOUT_MS: '0' })).message).toBe(
        'environment variable DATABASE_STATEMENT_TIMEOUT_MS: database.statementTimeoutMs: must be from 100 to 3600000, got 0',
      );
      expect(configurationError(() => loadSettings({}, { DATABASE_CONNECT_TIMEOUT_MS: '50' })).message).toBe(
        'environment variable DATABASE_CONNECT_TIMEOUT_MS: database.connectTimeoutMs: must be from 100 to 600000, got 50',
      );
    });

    it('refuses DATABASE_CONNECT_RETRIES out of range', () => {
      expect(configurationError(() => loadSettings({}, { DATABASE_CONNECT_RETRIES: '1000' })).message).toBe(
        'environment variable DATABASE_CONNECT_RETRIES: database.connectRetries: must be from 0 to 100, got 1000',
      );
    });

    it('throws errors whose name is ConfigurationError', () => {
      const error = configurationError(() => loadSettings({}, { LOG_LEVEL: 'verbose' }));
      expect(error.name).toBe('ConfigurationError');
    });
  });
});

describe('parseLaunchArguments', () => {
  const quiet = () => undefined;

  it('returns no port and no configuration for no arguments', () => {
    expect(parseLaunchArguments([], quiet)).toEqual({});
  });

  it('reads a single integer as the port', () => {
    expect(parseLaunchArguments(['4401'], quiet)).toEqual({ port: 4401, configurationPath: undefined });
  });

  it('reads an integer and a path as the port and the configuration', () => {
    expect(parseLaunchArguments(['4401', 'cfg.yaml'], quiet)).toEqual({ port: 4401, configurationPath: 'cfg.yaml' });
  });

  it('reads a single non-integer as the configuration path', () => {
    expect(parseLaunchArguments(['cfg.yaml'], quiet)).toEqual({ configurationPath: 'cfg.yaml' });
  });

  it('accepts port 65535', () => {
    expect(parseLaunchArguments(['65535'], quiet).port).toBe(65535);
  });

  it('refuses a non-integer port followed by a configuration path', () => {
    const error = configurationError(() => parseLaunchArguments(['abc', 'x'], quiet));
    expect(error.message).toBe('command line: port: expected an integer, got "abc"');
  });

  it('refuses port 70000', () => {
    const error = configurationError(() => parseLaunchArguments(['70000'], quiet));
    expect(error.message).toBe('command line: port: must be from 0 to 65535, got "70000"');
  });

  it.each(['-1', '-0', '65536', '99999999999999999999'])('refuses the port %j with the range, not as a file name', (port) => {
    expect(configurationError(() => parseLaunchArguments([port], quiet)).message).toBe(
      `command line: port: must be from 0 to 65535, got "${port}"`,
    );
  });

  it('refuses port -1 followed by a configuration path', () => {
    expect(configurationError(() => parseLaunchArguments(['-1', 'cfg.yaml'], quiet)).message).toBe(
      'command line: port: must be from 0 to 65535, got "-1"',
    );
  });

  it.each(['1.5', '+4401', '1e3', '-2.5', '.5'])('refuses the number %j as a port that is not an integer', (port) => {
    expect(configurationError(() => parseLaunchArguments([port], quiet)).message).toBe(
      `command line: port: must be an integer from 0 to 65535, got "${port}"`,
    );
  });

  it('still reads a name that merely starts with a digit as the configuration path', () => {
    expect(parseLaunchArguments(['4401.yaml'], quiet)).toEqual({ configurationPath: '4401.yaml' });
  });

  it('refuses more than two arguments', () => {
    const error = configurationError(() => parseLaunchArguments(['4401', 'a.yaml', 'b.yaml'], quiet));
    expect(error.message).toMatch(/^command line: too many arguments/);
  });

  it('refuses an unknown option', () => {
    const error = configurationError(() => parseLaunchArguments(['--bogus'], quiet));
    expect(error.message).toMatch(/^command line: unknown option '--bogus'/);
  });

  it('throws InformationShown for --help', () => {
    expect(() => parseLaunchArguments(['--help'], quiet)).toThrow(InformationShown);
  });

  it('prints the usage through print for --help', () => {
    const print = jest.fn();
    expect(() => parseLaunchArguments(['--help'], print)).toThrow();
    expect(print.mock.calls.join('')).toMatch(/Usage: chat-server \[options\] \[port\] \[configuration\]/);
  });

  it('lists every environment variable with the key it sets in --help', () => {
    const print = jest.fn();
    expect(() => parseLaunchArguments(['--help'], print)).toThrow(InformationShown);
    const help = print.mock.calls.join('');
    expect(help).toContain('Environment variables');
    expect(help).toMatch(/^ {2}HTTP_HOST +http\.host$/m);
    expect(help).toMatch(/^ {2}DATABASE_URL +database\.url$/m);
    expect(help).toMatch(/^ {2}CHAT_PEERS +federation\.peers \(comma-separated\)$/m);
    for (const { variable, key } of ENVIRONMENT) expect(help).toMatch(new RegExp(`^ {2}${variable} +${escape(key)}`, 'm'));
  });

  it('throws InformationShown for --version', () => {
    expect(() => parseLaunchArguments(['--version'], quiet)).toThrow(InformationShown);
  });

  it('prints the package version through print for --version', () => {
    const print = jest.fn();
    expect(() => parseLaunchArguments(['--version'], print)).toThrow();
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- package.json lies outside the test tree
    const { version } = require('../../package.json') as { version: string };
    expect(print.mock.calls.join('')).toBe(`${version}\n`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

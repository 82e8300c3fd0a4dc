import { compare, hash } from 'bcrypt';
import { DEFAULT_LIMITS, Settings } from '../../src/config/settings';
import { AuthService } from '../../src/modules/auth/auth.service';
import { UserAccounts } from '../../src/modules/auth/user-accounts';
import { LocalPresence } from '../../src/modules/presence/presence';
import { Session } from '../../src/transport/session';

jest.mock('bcrypt', () => {
  const actual = jest.requireActual<typeof import('bcrypt')>('bcrypt');
  return {
    ...actual,
    compare: jest.fn((data: string, encrypted: string) => actual.compare(data, encrypted)),
    hash: jest.fn((data: string, saltOrRounds: string | number) => actual.hash(data, saltOrRounds)),
  };
});

const compareSpy = compare as jest.MockedFunction<typeof compare>;
const hashSpy = hash as jest.MockedFunction<typeof hash>;

function session(id: string): Session {
  return {
    id,
    remoteAddress: '127.0.0.1',
    role: 'client',
    send: () => undefined,
    close: () => undefined,
    awaitSettled: () => undefined,
  };
}

describe('AuthService.login', () => {
  let auth: AuthService;
  let storedHash: string;

  beforeAll(async () => {
    storedHash = await hash('right', 4);
    const users = {
      passwordHashOf: async (name: string) => (name === 'bob' ? storedHash : undefined),
    } as unknown as UserAccounts;
    auth = new AuthService(users, new LocalPresence(), { bcryptCost: 4, limits: DEFAULT_LIMITS } as Settings, null);
    auth.onModuleInit();
  });

  beforeEach(() => compareSpy.mockClear());

  // "LOGIN fails on an unknown user or a wrong password (one reply for both, and both take the
  // same time: compare against a dummy hash when the user does not exist)"
  test('an unknown user still costs exactly one bcrypt compare, against a hash that is not any user’s', async () => {
    await expect(auth.login(session('c1'), 'nobody', 'right')).resolves.toBe(false);
    expect(compareSpy).toHaveBeenCalledTimes(1);
    const [, againstHash] = compareSpy.mock.calls[0];
    expect(againstHash).toMatch(/^\$2[aby]\$04\$/);
    expect(againstHash).not.toBe(storedHash);
  });

  test('a wrong password costs exactly one bcrypt compare, against the user’s hash', async () => {
    await expect(auth.login(session('c2'), 'bob', 'wrong')).resolves.toBe(false);
    expect(compareSpy).toHaveBeenCalledTimes(1);
    expect(compareSpy.mock.calls[0][1]).toBe(storedHash);
  });

  test('an invalid user name still costs one bcrypt compare', async () => {
    await expect(auth.login(session('c3'), 'bad:name', 'right')).resolves.toBe(false);
    expect(compareSpy).toHaveBeenCalledTimes(1);
  });

  test('a password longer than 72 bytes fails although bcrypt would match its first 72 bytes', async () => {
    const longHash = await hash('p'.repeat(72), 4);
    const users = { passwordHashOf: async () => longHash } as unknown as UserAccounts;
    const service = new AuthService(users, new LocalPresence(), { bcryptCost: 4, limits: DEFAULT_LIMITS } as Settings, null);
    service.onModuleInit();
    await expect(service.login(session('c4'), 'long', 'p'.repeat(73))).resolves.toBe(false);
    await expect(service.login(session('c5'), 'long', 'p'.repeat(72))).resolves.toBe(true);
  });

  test('a connection that is already logged in fails without running bcrypt', async () => {
    const loggedIn = session('c6');
    await expect(auth.login(loggedIn, 'bob', 'right')).resolves.toBe(true);
    compareSpy.mockClear();
    await expect(auth.login(loggedIn, 'bob', 'right')).resolves.toBe(false);
    expect(compareSpy).not.toHaveBeenCalled();
  });
});

describe('AuthService.login limits', () => {
  const users = {
    passwordHashOf: async (name: string) => (name === 'bob' ? '$2b$04$abcdefghijklmnopqrstuu' : undefined),
  } as unknown as UserAccounts;

  function service(limits: Partial<Settings['limits']>): AuthService {
    return new AuthService(
      users,
      new LocalPresence(),
      { bcryptCost: 4, limits: { ...DEFAULT_LIMITS, ...limits } } as Settings,
      null,
    );
  }

  beforeEach(() => compareSpy.mockClear());

  test('guesses sent at once cannot pass the per-address limit by being checked together', async () => {
    const auth = service({ loginFailuresPerAddressPerMinute: 3 });
    auth.onModuleInit();
    compareSpy.mockClear();
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, index) => auth.login(session(`s${index}`), `user${index}`, 'guess')),
    );
    expect(outcomes).toEqual(Array(8).fill(false));
    expect(compareSpy).toHaveBeenCalledTimes(3);
    expect(auth.loginFailures).toEqual({ credentials: 3, account: 0, address: 5 });
  });

  test('guesses at one account sent at once stop at the per-account limit', async () => {
    const auth = service({ loginFailuresPerMinute: 2 });
    auth.onModuleInit();
    compareSpy.mockClear();
    await Promise.all(Array.from({ length: 6 }, (_, index) => auth.login(session(`t${index}`), 'bob', 'guess')));
    expect(compareSpy).toHaveBeenCalledTimes(2);
    expect(auth.loginFailures).toEqual({ credentials: 2, account: 4, address: 0 });
  });

  test('LOGINs that succeed are never refused by the checks under way, only delayed', async () => {
    const rightHash = await hash('right', 4);
    const anyone = { passwordHashOf: async () => rightHash } as unknown as UserAccounts;
    const auth = new AuthService(
      anyone,
      new LocalPresence(),
      {
        bcryptCost: 4,
        limits: { ...DEFAULT_LIMITS, loginFailuresPerAddressPerMinute: 3, loginFailuresPerMinute: 1 },
      } as Settings,
      null,
    );
    auth.onModuleInit();
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, index) => auth.login(session(`ok${index}`), `user${index % 6}`, 'right')),
    );
    // Six names, each logged in once; the second LOGIN of a name finds it online elsewhere.
    expect(outcomes.filter(Boolean)).toHaveLength(6);
    expect(auth.loginFailures).toEqual({ credentials: 0, account: 0, address: 0 });
  });
});

describe('AuthService.register', () => {
  function service(users: Partial<UserAccounts>): AuthService {
    return new AuthService(
      users as UserAccounts,
      new LocalPresence(),
      { bcryptCost: 4, limits: { ...DEFAULT_LIMITS, exemptLoopback: true } } as Settings,
      null,
    );
  }

  beforeEach(() => hashSpy.mockClear());

  // bcrypt's hash(password, cost) makes its salt with two more trips through libuv's threads.
  test('hashes the password with a salt made beforehand, at the configured cost', async () => {
    const created: string[] = [];
    const auth = service({
      exists: async () => false,
      create: async (_name: string, passwordHash: string) => created.push(passwordHash) > 0,
    });
    await expect(auth.register(session('r1'), 'alice', 'secret')).resolves.toBe(true);
    expect(hashSpy).toHaveBeenCalledTimes(1);
    expect(hashSpy.mock.calls[0][1]).toMatch(/^\$2b\$04\$[./A-Za-z0-9]{22}$/);
    await expect(compare('secret', created[0])).resolves.toBe(true);
  });

  test('a name that is taken fails without spending bcrypt time', async () => {
    const auth = service({ exists: async () => true });
    await expect(auth.register(session('r2'), 'bob', 'secret')).resolves.toBe(false);
    expect(hashSpy).not.toHaveBeenCalled();
  });

  test('a name taken by a concurrent REGISTER after the check fails', async () => {
    const auth = service({ exists: async () => false, create: async () => false });
    await expect(auth.register(session('r3'), 'carol', 'secret')).resolves.toBe(false);
  });

  test('a LOGIN as the account the connection just created checks the password it stored, without reading it back', async () => {
    const readBack: string[] = [];
    const stored = new Map<string, string>();
    const auth = service({
      exists: async (name: string) => stored.has(name),
      create: async (name: string, passwordHash: string) => stored.set(name, passwordHash).size > 0,
      passwordHashOf: async (name: string) => {
        readBack.push(name);
        return stored.get(name);
      },
    });
    auth.onModuleInit();
    const fresh = session('r6');
    await expect(auth.register(fresh, 'fay', 'secret')).resolves.toBe(true);
    await expect(auth.login(fresh, 'fay', 'secret')).resolves.toBe(true);
    const wrong = session('r7');
    await expect(auth.register(wrong, 'gus', 'secret')).resolves.toBe(true);
    await expect(auth.login(wrong, 'gus', 'guess')).resolves.toBe(false);
    expect(readBack).toEqual([]);
    // A second LOGIN after the first failed, or a LOGIN as another name, reads the account.
    await expect(auth.login(wrong, 'gus', 'secret')).resolves.toBe(true);
    const other = session('r8');
    await expect(auth.register(other, 'hal', 'secret')).resolves.toBe(true);
    await expect(auth.login(other, 'ivy', 'secret')).resolves.toBe(false);
    expect(readBack).toEqual(['gus', 'ivy']);
  });

  // A REGISTER cut in two is completed by the very next line; after a LOGIN there is nothing
  // left to complete, and the connection no longer holds the account's hash.
  test("a LOGIN ends the chance to complete the connection's REGISTER", async () => {
    const replaced: string[] = [];
    const users = {
      exists: async () => false,
      create: async () => true,
      passwordHashOf: async () => undefined,
      replacePasswordHash: async (name: string) => replaced.push(name) > 0,
    };
    const auth = service(users);
    auth.onModuleInit();
    const registering = session('r4');
    await expect(auth.register(registering, 'dave', 'sec')).resolves.toBe(true);
    await auth.login(registering, 'dave', 'sec');
    hashSpy.mockClear();
    await auth.completeRegistration(registering, 'dave', 'secret');
    expect(replaced).toEqual([]);
    expect(hashSpy).not.toHaveBeenCalled();

    const other = session('r5');
    await expect(auth.register(other, 'erin', 'sec')).resolves.toBe(true);
    await auth.completeRegistration(other, 'erin', 'secret');
    expect(replaced).toEqual(['erin']);
  });
});

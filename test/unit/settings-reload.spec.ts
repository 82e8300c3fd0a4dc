import { SettingsReload } from '../../src/config/settings-reload';
import { DEFAULT_LIMITS, parsePeer, Settings } from '../../src/config/settings';

function settings(overrides: Partial<Settings> = {}): Settings {
  return {
    port: 4400,
    host: '127.0.0.1',
    hostname: 'chat.example',
    database: { dataDir: './data' },
    federation: {
      peers: ['10.0.0.1:4400', '10.0.0.2:4400'].map((text) => parsePeer(text) as NonNullable<ReturnType<typeof parsePeer>>),
      acceptFrom: 'listed',
      requestTimeoutMs: 5000,
    },
    http: { port: 0, host: '127.0.0.1' },
    limits: { ...DEFAULT_LIMITS },
    idleFlushMs: 100,
    bcryptCost: 10,
    logLevel: 'info',
    logFormat: 'json',
    ...overrides,
  };
}

describe('SettingsReload', () => {
  test('puts limits, log level and peers in force in the running settings, and names what waits for a restart', async () => {
    const live = settings();
    const keptPeer = live.federation.peers[0];
    const reload = new SettingsReload(live);
    const heard: string[][] = [];
    reload.onReload((_settings, changed) => void heard.push([...changed]));
    const next = settings({
      port: 4500,
      hostname: 'other.example',
      logLevel: 'debug',
      limits: { ...DEFAULT_LIMITS, maxChannels: 5 },
      federation: {
        ...live.federation,
        peers: [parsePeer('10.0.0.1:4400'), parsePeer('10.0.0.3:4400')] as Settings['federation']['peers'],
      },
    });
    const outcome = await reload.apply(next);
    expect(outcome).toEqual({
      applied: ['limits.maxChannels', 'logLevel', 'federation.peers'],
      needRestart: ['port', 'hostname'],
    });
    expect(heard).toEqual([['limits.maxChannels', 'logLevel', 'federation.peers']]);
    expect(live.limits.maxChannels).toBe(5);
    expect(live.logLevel).toBe('debug');
    expect(live.port).toBe(4400);
    expect(live.hostname).toBe('chat.example');
    // The peer configured as before is the same object: its link and retries carry on.
    expect(live.federation.peers[0]).toBe(keptPeer);
    expect(live.federation.peers.map((peer) => peer.host)).toEqual(['10.0.0.1', '10.0.0.3']);
  });

  test('the same configuration again changes nothing', async () => {
    const live = settings();
    const outcome = await new SettingsReload(live).apply(settings());
    expect(outcome).toEqual({ applied: [], needRestart: [] });
  });
});

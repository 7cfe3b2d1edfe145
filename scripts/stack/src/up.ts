/**
 * `scripts/up`: prepares the data folder and runs the whole stack in the
 * foreground until SIGINT/SIGTERM/SIGHUP. Configured only through the
 * environment (see the README).
 */
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CONTROL_ENTRY, checkPortsFree, checkRequiredFiles, stackComponents, type StackContext } from './components.js';
import { fetchHealth, httpBaseUrl, ircLinkUp } from './health.js';
import { ensureSecret } from '@alloquy/service-kit/config';
import { ensureHome, repoRoot } from './home.js';
import { prepareFastConnect, type FastConnectModules } from './inspircd/fast-connect.js';
import { DEFAULT_INSPIRCD_BINARY, writeInspircdFiles } from './inspircd/process.js';
import { prepareCoturn } from './coturn/process.js';
import { DEFAULT_MURMUR_AUTOBAN } from './murmur/config.js';
import { DEFAULT_MURMUR_BINARY, prepareMurmur } from './murmur/process.js';
import { loadStackSettings, localAddressFor, type StackSettings } from './settings.js';
import { Supervisor } from './supervisor.js';
import { ensureCertificate } from './tls.js';

const LINK_WAIT_MS = 30_000;

async function main(): Promise<number> {
  // A closed terminal or pipe must not take the stack down with it.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

  let settings: StackSettings;
  try {
    settings = loadStackSettings();
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const { layout, ports, irc } = settings;
  const root = repoRoot();

  await ensureHome(layout);
  const linkPassword = ensureSecret(layout.linkPasswordPath, 32);
  ensureSecret(layout.jwtSecretPath, 32);
  const cloakKey = ensureSecret(layout.cloakKeyPath, 32);
  const murmurIceSecret = ensureSecret(layout.murmurIceSecretPath, 32);
  const murmurServerPassword = ensureSecret(layout.murmurServerPasswordPath, 32);
  // Typed (or pasted) into a Mumble client by an operator: shorter than the machine secrets.
  const murmurSuperUserPassword = ensureSecret(layout.murmurSuperUserPasswordPath, 16);
  // The TURN REST API shared secret: coturn checks, and the signalling service mints, credentials with it.
  const turnSecret = ensureSecret(settings.turn.secretPath, 32);
  const certificate = await ensureCertificate(layout.tlsDir, certificateHostnames(settings));
  if (certificate.created) console.log(`Created a self-signed TLS certificate: ${certificate.certPath}`);

  // Logins wait ~1 s without the module, but the stack still works: warn rather than refuse.
  let fastConnect: FastConnectModules | undefined;
  try {
    fastConnect = await prepareFastConnect(join(layout.inspircdDir, 'modules'));
  } catch (error) {
    console.warn(`warning: ${(error as Error).message}\nwarning: continuing without it; IRC logins will take about a second`);
  }

  const { configPath } = await writeInspircdFiles(layout.inspircdDir, {
    ...fastConnect,
    server: { name: irc.serverName, sid: irc.serverSid, network: irc.network },
    ports,
    dataDir: layout.inspircdDir,
    tls: certificate,
    logPath: join(layout.logsDir, 'ircd.log'),
    pidPath: join(layout.inspircdDir, 'inspircd.pid'),
    cloakKey,
    services: { name: irc.servicesName, password: linkPassword, bindAddress: irc.linkHost },
  });

  const context: StackContext = {
    settings,
    repoRoot: root,
    inspircd: { configPath, binary: DEFAULT_INSPIRCD_BINARY },
    murmur: { configPath: layout.murmurConfigPath, binary: DEFAULT_MURMUR_BINARY },
    // A development override (e.g. a stand-in control server); not part of the deployment contract.
    controlEntry: resolve(process.env.ALLOQUY_CONTROL_ENTRY?.trim() || join(root, CONTROL_ENTRY)),
  };
  const specs = stackComponents(context);
  try {
    await checkRequiredFiles(specs);
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }

  const supervisor = new Supervisor(specs, { logsDir: layout.logsDir, runDir: layout.runDir });
  try {
    // Leftovers of this data folder's last run hold its ports: those are ours to stop, anything else is reported.
    await supervisor.reapLeftovers();
    await checkPortsFree(specs);
    // After the leftovers are gone: this opens Murmur's database (to set the SuperUser password).
    await prepareMurmur({
      configPath: layout.murmurConfigPath,
      dataDir: layout.murmurDir,
      ownedRoot: layout.home,
      superUserPassword: murmurSuperUserPassword,
      binary: DEFAULT_MURMUR_BINARY,
      host: settings.mumbleHost,
      ports,
      iceSecret: murmurIceSecret,
      serverPassword: murmurServerPassword,
      tls: certificate,
      registerName: irc.network,
      autoban: DEFAULT_MURMUR_AUTOBAN,
    });
    await prepareCoturn({
      configPath: settings.turn.configPath,
      dataDir: settings.turn.dataDir,
      listenIp: settings.turn.host,
      externalIp: settings.turn.externalIp,
      port: ports.turn,
      relayMin: settings.turn.relay.min,
      relayMax: settings.turn.relay.max,
      secret: turnSecret,
      realm: settings.turn.realm,
      allowLoopbackPeers: settings.turn.allowLoopbackPeers,
      allowPrivatePeers: settings.turn.allowPrivatePeers,
    });
  } catch (error) {
    console.error((error as Error).message);
    return 1;
  }
  let signals = 0;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      signals += 1;
      if (signals > 1) {
        // Asked twice: do not make the operator wait for slow shutdowns.
        console.log(`\n${signal} again: killing every component`);
        for (const spec of specs) {
          const pid = supervisor.pidOf(spec.name);
          if (pid !== undefined) killGroup(pid);
        }
        resolve(1);
        return;
      }
      console.log(`\n${signal}: stopping Alloquy...`);
      supervisor.stop().then(
        () => resolve(0),
        (error: unknown) => {
          console.error(`Stopping failed: ${(error as Error).message}`);
          resolve(1);
        },
      );
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  });

  // The components are in their own process groups and outlive this process
  // if it dies, so even a bug here must stop them on the way out.
  process.on('uncaughtException', (error) => {
    console.error(`Unexpected error, stopping Alloquy: ${error.stack ?? error.message}`);
    const forceExit = setTimeout(() => process.exit(1), 20_000);
    void supervisor.stop().finally(() => {
      clearTimeout(forceExit);
      process.exit(1);
    });
  });

  console.log(`Starting Alloquy (data folder ${layout.home})`);
  try {
    await supervisor.start();
  } catch (error) {
    console.error(`\n${(error as Error).message}\n`);
    await supervisor.stop();
    return 1;
  }
  // A signal during startup makes start() return early; the stop is already under way.
  if (signals > 0) return stopped;

  printEndpoints(settings, certificate.certPath);
  void reportIrcLink(settings, () => signals > 0);
  return stopped;
}

function certificateHostnames(settings: StackSettings): string[] {
  const names = [settings.irc.serverName];
  const machine = hostname().toLowerCase();
  // Host names with characters a certificate cannot carry are left out rather than failing startup.
  if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(machine)) names.push(machine);
  return names;
}

function printEndpoints(settings: StackSettings, certPath: string): void {
  const { ports, layout } = settings;
  const http = httpBaseUrl(localAddressFor(settings.httpHost), ports.http);
  const rows: [string, string, string][] = [
    ['IRC over TLS', `ircs://localhost:${ports.ircTls}`, `all interfaces, self-signed unless replaced: ${certPath}`],
    ['IRC plaintext', `irc://127.0.0.1:${ports.irc}`, 'loopback only'],
    ['IRC WebSocket', `ws://localhost:${ports.ircWs}`, 'sub-protocol text.inspircd.org; put TLS in front for browsers'],
    ['HTTP API', `${http}/`, `bound to ${settings.httpHost}`],
    ['Health', `${http}/healthz`, ''],
    ['Metrics', `${http}/metrics`, 'Prometheus'],
    ['Services link', `${settings.irc.linkHost}:${ports.ircLink}`, `InspIRCd <-> control server (${settings.irc.servicesName})`],
    [
      'Voice (Mumble)',
      `${settings.mumbleHost === '' ? 'localhost' : settings.mumbleHost}:${ports.mumble}`,
      `TCP+UDP, ${settings.mumbleHost === '' ? 'all interfaces' : `bound to ${settings.mumbleHost}`}; Alloquy accounts; certificate ${certPath}`,
    ],
    ['Murmur Ice', `127.0.0.1:${ports.mumbleIce}`, 'loopback only; control server <-> Murmur'],
    [
      'TURN (coturn)',
      `turn:${settings.turn.externalIp ?? settings.turn.host}:${ports.turn}`,
      `UDP+TCP, relays ${settings.turn.relay.min}-${settings.turn.relay.max}/udp; TURN REST API secret ${settings.turn.secretPath}` +
        (settings.turn.allowLoopbackPeers ? '; relays to loopback (testing only)' : ''),
    ],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const urlWidth = Math.max(...rows.map(([, url]) => url.length));
  // stack-testing waits for this line: keep them in step.
  console.log('\nAlloquy is running:');
  for (const [label, url, note] of rows) {
    console.log(`  ${label.padEnd(width)}  ${url.padEnd(urlWidth)}  ${note}`.trimEnd());
  }
  console.log(`  ${'Logs'.padEnd(width)}  ${layout.logsDir}/`);
  console.log(`  ${'Data'.padEnd(width)}  ${layout.home}/`);
  console.log('Press Ctrl-C to stop.\n');
}

/** Tells the operator once whether the control server managed to link to InspIRCd. */
async function reportIrcLink(settings: StackSettings, stopping: () => boolean): Promise<void> {
  const baseUrl = httpBaseUrl(localAddressFor(settings.httpHost), settings.ports.http);
  const deadline = Date.now() + LINK_WAIT_MS;
  while (Date.now() < deadline) {
    if (stopping()) return;
    if (ircLinkUp(await fetchHealth(baseUrl))) {
      console.log('[control] IRC services link is up');
      return;
    }
    await sleep(250);
  }
  if (stopping()) return;
  console.log(`[control] IRC services link still down after ${LINK_WAIT_MS / 1000} s; see ${settings.layout.logsDir}/control.log`);
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

process.exitCode = await main();
// Pending readiness probes or timers must not keep a stopped stack's process alive.
process.exit();

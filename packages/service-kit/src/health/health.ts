/** One component's state as /healthz and `alloquy status` show it. */
export interface ComponentHealth {
  status: 'up' | 'down';
  [detail: string]: unknown;
}

export type HealthProbe = () => ComponentHealth;

/** The components the control server watches; later relays (Murmur, ...) register here too. */
export class Health {
  private readonly probes = new Map<string, HealthProbe>();

  register(name: string, probe: HealthProbe): void {
    this.probes.set(name, probe);
  }

  report(): { status: 'ok' | 'degraded'; components: Record<string, ComponentHealth> } {
    const components: Record<string, ComponentHealth> = {};
    for (const [name, probe] of this.probes) {
      try {
        components[name] = probe();
      } catch (err) {
        components[name] = { status: 'down', error: (err as Error).message };
      }
    }
    const ok = Object.values(components).every((c) => c.status === 'up');
    return { status: ok ? 'ok' : 'degraded', components };
  }
}

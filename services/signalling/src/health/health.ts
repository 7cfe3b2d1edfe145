/** Health of each component this service depends on, for `/healthz`. */
export type ComponentCheck = () => { status: 'up' | 'down'; [key: string]: unknown };

export class Health {
  private readonly checks = new Map<string, ComponentCheck>();

  register(name: string, check: ComponentCheck): void {
    this.checks.set(name, check);
  }

  report(): { status: 'ok' | 'degraded'; components: Record<string, unknown> } {
    const components: Record<string, unknown> = {};
    let ok = true;
    for (const [name, check] of this.checks) {
      let result: ReturnType<ComponentCheck>;
      try {
        result = check();
      } catch (err) {
        result = { status: 'down', error: err instanceof Error ? err.message : String(err) };
      }
      if (result.status !== 'up') ok = false;
      components[name] = result;
    }
    return { status: ok ? 'ok' : 'degraded', components };
  }
}

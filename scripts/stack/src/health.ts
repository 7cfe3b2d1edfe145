/** GET /healthz of the control server. */
export interface HealthReport {
  status: 'ok' | 'degraded' | string;
  components: Record<string, { status: 'up' | 'down' | string; [detail: string]: unknown }>;
}

/** The health report, or undefined while the server does not answer with one. */
export async function fetchHealth(baseUrl: string, timeoutMs = 2000): Promise<HealthReport | undefined> {
  try {
    // Read the body whatever the status code: a degraded server may well answer 503 with the same report.
    const response = await fetch(new URL('/healthz', baseUrl), { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.json()) as Partial<HealthReport>;
    if (typeof body.status !== 'string' || typeof body.components !== 'object' || body.components === null) {
      return undefined;
    }
    return body as HealthReport;
  } catch {
    return undefined;
  }
}

export function ircLinkUp(report: HealthReport | undefined): boolean {
  return report?.components.ircLink?.status === 'up';
}

export function httpBaseUrl(host: string, port: number): string {
  return host.includes(':') ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}

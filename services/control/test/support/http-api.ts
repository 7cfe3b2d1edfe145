/** The control server's HTTP API as the integration and end-to-end tests call it. */

export interface ApiResponse {
  status: number;
  /** The parsed body (undefined when empty), untyped: each test reads the fields it checks. */
  json: any;
}

/**
 * Calls to the API at `baseUrl()`, read at each call: the server under test
 * may be started (or restarted, on a new port) after this is made. A body is
 * sent as JSON; a token as a bearer token.
 */
export function httpApi(baseUrl: () => string) {
  const call = async (method: string, path: string, body?: unknown, token?: string): Promise<ApiResponse> => {
    const res = await fetch(baseUrl() + path, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  return {
    call,
    post: (path: string, body: unknown, token?: string): Promise<ApiResponse> => call('POST', path, body, token),
  };
}

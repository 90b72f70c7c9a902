// api.ts: the JSON client of /api/v1 (docs/openapi.yaml). Errors are RFC 9457 problems with a
// stable `code` and, for bad input, the offending `field`: ApiError carries both so forms can
// put the message next to the right input.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly field?: string,
    readonly retryAfterS?: number,
    /** The whole problem document: refusals carry members (limit, used_minor, resets_at). */
    readonly problem: Record<string, unknown> = {},
  ) {
    super(detail || code);
    this.name = "ApiError";
  }
}

export type Query = Record<string, string | number | undefined | null>;

export interface Api {
  get<T>(path: string, query?: Query): Promise<T>;
  post<T>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T>;
  put<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string, body?: unknown): Promise<T>;
}

/** A client sending "Authorization: Bearer <token()>" when token() is not null; on a 401 for
 * a request that carried a token, onUnauthorized runs (the session ended). */
export function apiClient(token: () => string | null, onUnauthorized: () => void): Api {
  async function request<T>(method: string, path: string, body?: unknown, query?: Query,
                            extra?: Record<string, string>): Promise<T> {
    const url = new URL(`/api/v1${path}`, window.location.origin);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v !== undefined && v !== null && v !== "") url.searchParams.set(k, String(v));
    }
    const headers: Record<string, string> = { Accept: "application/json", ...extra };
    const t = token();
    if (t) headers.Authorization = `Bearer ${t}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError(0, "network_error", "The server cannot be reached; check your connection.");
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let doc: unknown = null;
    try {
      doc = text ? JSON.parse(text) : null;
    } catch {
      doc = null;
    }
    if (res.ok) return doc as T;
    const p = (doc ?? {}) as { code?: string; detail?: string; title?: string; field?: string };
    const retry = Number(res.headers.get("Retry-After") ?? "");
    const err = new ApiError(res.status, p.code ?? `http_${res.status}`, p.detail ?? p.title ?? res.statusText,
                             p.field, Number.isFinite(retry) && retry > 0 ? retry : undefined,
                             (doc && typeof doc === "object" ? doc : {}) as Record<string, unknown>);
    if (res.status === 401 && t && err.code === "unauthorized") onUnauthorized();
    throw err;
  }
  return {
    get: (path, query) => request("GET", path, undefined, query),
    post: (path, body, headers) => request("POST", path, body ?? {}, undefined, headers),
    put: (path, body) => request("PUT", path, body),
    del: (path, body) => request("DELETE", path, body),
  };
}

/** A fresh Idempotency-Key for one money-moving action (scope:random). */
export function idempotencyKey(scope: string): string {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return `${scope}:${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

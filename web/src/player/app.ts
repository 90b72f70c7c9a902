// app.ts: the player app's state: the session (kept in localStorage so a reload stays logged
// in), the API client, and the balances, fetched once and then kept current by the WebSocket
// push on topic player:<id>.
import { apiClient, type Api } from "../lib/api";
import { Socket, type SocketState } from "../lib/ws";
import type { Balance } from "../lib/types";

/** The brand players register with (the demo set's brand unless the build names another). */
export const BRAND: string = import.meta.env.VITE_PITBOSS_BRAND ?? "demo";

export interface PlayerSession {
  token: string;
  player_id: string;
  session_id: string;
  expires_at: string;
}

const STORAGE_KEY = "pitboss.player.session";

export class PlayerApp {
  readonly api: Api;
  session: PlayerSession | null = null;
  balances: Balance[] = [];
  socketState: SocketState = "offline";
  private socket: Socket | null = null;
  private listeners = new Set<() => void>();
  private eventListeners = new Set<{ kind: string; fn: (data: Record<string, unknown>) => void }>();
  onSessionEnd: () => void = () => {};

  constructor() {
    this.api = apiClient(() => this.session?.token ?? null, () => this.end());
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved) {
      try {
        const s = JSON.parse(saved) as PlayerSession;
        if (new Date(s.expires_at).getTime() > Date.now()) this.session = s;
      } catch {
        localStorage.removeItem(STORAGE_KEY);
      }
    }
  }

  loggedIn(): boolean {
    return this.session !== null;
  }

  /** Starts the balance feed of a logged-in player (after login or a reload). */
  async start(): Promise<void> {
    if (!this.session) return;
    const id = this.session.player_id;
    this.socket?.close();
    this.socket = new Socket(this.session.token, {
      [`player:${id}`]: (data) => this.pushed(data),
    }, (s) => {
      this.socketState = s;
      this.changed();
    });
    await this.refreshBalances();
  }

  async refreshBalances(): Promise<void> {
    const r = await this.api.get<{ balances: Balance[] }>("/players/me/balances");
    this.balances = r.balances;
    this.changed();
  }

  /** Calls fn with each pushed event of kind (e.g. "rg.reality_check") until signal aborts. */
  onEvent(kind: string, fn: (data: Record<string, unknown>) => void, signal?: AbortSignal): void {
    const entry = { kind, fn };
    this.eventListeners.add(entry);
    signal?.addEventListener("abort", () => this.eventListeners.delete(entry));
  }

  /** Applies the cash balance a play or cashier answer carries (the push follows; whichever
   * comes first shows). */
  applyCash(b: { currency: string; exponent: number; available_minor: number; posted_minor: number }): void {
    const i = this.balances.findIndex((x) => x.type === "cash" && x.currency === b.currency);
    if (i < 0) return;
    this.balances[i] = { ...this.balances[i], available_minor: b.available_minor, posted_minor: b.posted_minor };
    this.changed();
  }

  private pushed(data: unknown): void {
    const d = data as { kind?: string; balances?: Balance[] };
    if (typeof d.kind === "string") {
      for (const l of this.eventListeners) if (l.kind === d.kind) l.fn(d as Record<string, unknown>);
    }
    if (d.kind !== "balances" || !Array.isArray(d.balances)) return;
    for (const b of d.balances) {
      const i = this.balances.findIndex((x) => x.account_id === b.account_id);
      if (i >= 0) this.balances[i] = b;
      else this.balances.push(b);
    }
    this.changed();
  }

  async login(s: PlayerSession): Promise<void> {
    this.session = s;
    localStorage.setItem(STORAGE_KEY, JSON.stringify(s));
    await this.start();
  }

  /** Logs out: revokes this session on the server, then forgets it. */
  async logout(): Promise<void> {
    const s = this.session;
    if (s) {
      try {
        await this.api.del(`/sessions/${encodeURIComponent(s.session_id)}`);
      } catch {
        /* already gone: forget it anyway */
      }
    }
    this.end();
  }

  /** Forgets the session (logged out, revoked or expired). */
  end(): void {
    this.socket?.close();
    this.socket = null;
    this.session = null;
    this.balances = [];
    this.socketState = "offline";
    localStorage.removeItem(STORAGE_KEY);
    this.changed();
    this.onSessionEnd();
  }

  /** The player's main balance: cash in the first currency. */
  cash(): Balance | undefined {
    return this.balances.find((b) => b.type === "cash");
  }

  /** Calls fn on every change of balances or session until signal aborts. */
  watch(fn: () => void, signal?: AbortSignal): void {
    this.listeners.add(fn);
    signal?.addEventListener("abort", () => this.listeners.delete(fn));
  }

  private changed(): void {
    for (const fn of this.listeners) fn();
  }
}

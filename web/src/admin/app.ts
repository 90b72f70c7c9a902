// app.ts: the back office's state: the staff session (sessionStorage: it ends with the tab)
// with the role's permissions, and the API client.
import { apiClient, type Api } from "../lib/api";

export interface StaffSession {
  token: string;
  expires_at: string;
  staff_id: string;
  session_id: string;
  role: string;
  permissions: string[];
  email: string;
}

const STORAGE_KEY = "pitboss.staff.session";

export class StaffApp {
  readonly api: Api;
  session: StaffSession | null = null;
  onSessionEnd: () => void = () => {};

  constructor() {
    this.api = apiClient(() => this.session?.token ?? null, () => this.end());
    const saved = sessionStorage.getItem(STORAGE_KEY);
    if (saved) {
      try {
        const s = JSON.parse(saved) as StaffSession;
        if (new Date(s.expires_at).getTime() > Date.now()) this.session = s;
      } catch {
        sessionStorage.removeItem(STORAGE_KEY);
      }
    }
  }

  loggedIn(): boolean {
    return this.session !== null;
  }

  can(permission: string): boolean {
    return this.session?.permissions.includes(permission) ?? false;
  }

  login(s: StaffSession): void {
    this.session = s;
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify(s));
  }

  async logout(): Promise<void> {
    try {
      await this.api.del("/admin/sessions");
    } catch {
      /* already gone */
    }
    this.end();
  }

  end(): void {
    this.session = null;
    sessionStorage.removeItem(STORAGE_KEY);
    this.onSessionEnd();
  }
}

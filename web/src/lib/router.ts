// router.ts: a small client-side router. An app is a list of routes; a screen is one module
// exporting a Screen, and adding a screen is one route entry (docs/web.md).
//
// Paths are matched against patterns with ":name" segments ("/players/:id"). Links inside
// the app (<a href="/..."> under the app's base) navigate without a reload; the server sends
// the app's index.html for every client-side path (src/http/static.c).

export interface ScreenContext<App> {
  app: App;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the user leaves the screen: stop timers, sockets and pending work. */
  signal: AbortSignal;
  navigate(path: string): void;
}

export interface Screen<App> {
  /** The document title and the screen's heading. */
  title: string;
  render(ctx: ScreenContext<App>): Node | Promise<Node>;
}

export interface Route<App> {
  path: string;
  screen: Screen<App>;
  /** Shown without a session (login, registration). */
  public?: boolean;
  /** The label of the navigation link, when the screen has one. */
  nav?: string;
}

interface Compiled<App> {
  route: Route<App>;
  re: RegExp;
  names: string[];
}

function compile<App>(route: Route<App>): Compiled<App> {
  const names: string[] = [];
  const re = route.path.replace(/:([a-z_]+)/g, (_m, n: string) => {
    names.push(n);
    return "([^/]+)";
  });
  return { route, re: new RegExp(`^${re}/?$`), names };
}

export interface RouterOptions<App> {
  base: string; // "" for the player app, "/admin" for the back office
  routes: Route<App>[];
  app: App;
  outlet: HTMLElement;
  appName: string;
  /** Where a screen that needs a session goes without one. */
  loginPath: string;
  loggedIn(): boolean;
  /** Called after each navigation (to refresh the header). */
  onNavigate?(route: Route<App> | null): void;
}

export class Router<App> {
  private compiled: Compiled<App>[];
  private current: AbortController | null = null;

  constructor(private opts: RouterOptions<App>) {
    this.compiled = opts.routes.map(compile);
  }

  start(): void {
    window.addEventListener("popstate", () => void this.render());
    document.addEventListener("click", (ev) => {
      const a = (ev.target as Element | null)?.closest?.("a");
      if (!a || ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return;
      const href = a.getAttribute("href");
      if (!href || !href.startsWith("/") || a.target || a.hasAttribute("download")) return;
      const inApp = this.opts.base === "" ? !href.startsWith("/admin") : href.startsWith(this.opts.base);
      if (!inApp) return;
      ev.preventDefault();
      this.navigate(href.slice(this.opts.base.length) || "/");
    });
    void this.render();
  }

  /** Goes to path (relative to the app's base). */
  navigate(path: string): void {
    const url = this.opts.base + (path === "/" && this.opts.base ? "" : path);
    if (url !== window.location.pathname + window.location.search) history.pushState(null, "", url);
    void this.render();
  }

  /** The app path ("/history") of the current location. */
  path(): string {
    const p = window.location.pathname.slice(this.opts.base.length);
    return p === "" ? "/" : p;
  }

  async render(): Promise<void> {
    this.current?.abort();
    const ctl = new AbortController();
    this.current = ctl;
    const path = this.path();
    let match: { c: Compiled<App>; params: Record<string, string> } | null = null;
    for (const c of this.compiled) {
      const m = c.re.exec(path);
      if (m) {
        const params: Record<string, string> = {};
        c.names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
        match = { c, params };
        break;
      }
    }
    const { outlet } = this.opts;
    if (!match) {
      this.opts.onNavigate?.(null);
      document.title = `Not found - ${this.opts.appName}`;
      outlet.replaceChildren(notFound(this.opts.base));
      return;
    }
    const { route } = match.c;
    if (!route.public && !this.opts.loggedIn()) {
      const next = encodeURIComponent(path + window.location.search);
      history.replaceState(null, "", `${this.opts.base}${this.opts.loginPath}?next=${next}`);
      return this.render();
    }
    this.opts.onNavigate?.(route);
    document.title = `${route.screen.title} - ${this.opts.appName}`;
    outlet.setAttribute("aria-busy", "true");
    let node: Node;
    try {
      node = await route.screen.render({
        app: this.opts.app,
        params: match.params,
        query: new URLSearchParams(window.location.search),
        signal: ctl.signal,
        navigate: (p) => this.navigate(p),
      });
    } catch (e) {
      node = failure(e);
    }
    if (ctl.signal.aborted) return; // the user moved on meanwhile
    outlet.replaceChildren(node);
    outlet.removeAttribute("aria-busy");
    // Move focus to the new content's heading so screen readers announce it.
    const heading = outlet.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      (heading as HTMLElement).focus({ preventScroll: true });
    }
  }
}

function notFound(base: string): Node {
  const s = document.createElement("section");
  const h1 = document.createElement("h1");
  h1.textContent = "Page not found";
  const a = document.createElement("a");
  a.href = base || "/";
  a.textContent = "Back to the start";
  s.append(h1, a);
  return s;
}

function failure(e: unknown): Node {
  const s = document.createElement("section");
  const h1 = document.createElement("h1");
  h1.textContent = "Something went wrong";
  const p = document.createElement("p");
  p.setAttribute("role", "alert");
  p.textContent = e instanceof Error ? e.message : String(e);
  s.append(h1, p);
  return s;
}

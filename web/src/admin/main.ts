// main.ts: the back office at /admin (docs/web.md). Screens are modules under screens/; adding
// one is an import and a route entry below (nav entries can require a permission).
import "../style.css";
import { h, replace } from "../lib/dom";
import { Router, type Route } from "../lib/router";
import { StaffApp } from "./app";
import { auditScreen } from "./screens/audit";
import { kycQueueScreen } from "./screens/kyc_queue";
import { loginScreen } from "./screens/login";
import { playerScreen } from "./screens/player";
import { playersScreen } from "./screens/players";
import { withdrawalsScreen } from "./screens/withdrawals";
import { dashboardScreen } from "./screens/dashboard";
import { gamesScreen } from "./screens/games";

type AdminRoute = Route<StaffApp> & { permission?: string };

const routes: AdminRoute[] = [
  { path: "/", screen: playersScreen, nav: "Players", permission: "players.read" },
  { path: "/players/:id", screen: playerScreen },
  { path: "/kyc", screen: kycQueueScreen, nav: "KYC queue", permission: "kyc.review" },
  { path: "/dashboard", screen: dashboardScreen, nav: "Dashboard", permission: "ledger.read" },
  { path: "/games", screen: gamesScreen, nav: "Games", permission: "games.manage" },
  { path: "/withdrawals", screen: withdrawalsScreen, nav: "Withdrawals", permission: "payments.review" },
  { path: "/audit", screen: auditScreen, nav: "Audit log", permission: "audit.read" },
  { path: "/login", screen: loginScreen, public: true },
];

const app = new StaffApp();
const top = document.getElementById("top")!;

const router = new Router<StaffApp>({
  base: "/admin",
  routes,
  app,
  outlet: document.getElementById("main")!,
  appName: "pitboss back office",
  loginPath: "/login",
  loggedIn: () => app.loggedIn(),
  onNavigate: () => header(),
});

function header(): void {
  const here = router.path();
  const brand = h("a", { class: "brand", href: "/admin" }, "pitboss back office");
  if (!app.session) {
    replace(top, h("div", { class: "bar" }, brand));
    return;
  }
  const items = routes.filter((r) => r.nav && (!r.permission || app.can(r.permission)));
  replace(top, h("div", { class: "bar" }, brand,
    h("span", { class: "muted" }, `${app.session.email} (${app.session.role})`),
    h("nav", { "aria-label": "Back office" }, h("ul", {},
      ...items.map((r) => h("li", {}, h("a", { href: `/admin${r.path === "/" ? "" : r.path}`,
        "aria-current": here === r.path ? "page" : null }, r.nav!))),
      h("li", {}, h("button", { type: "button", class: "secondary", onclick: () => void app.logout() }, "Log out"))))));
}

app.onSessionEnd = () => router.navigate("/login");
router.start();

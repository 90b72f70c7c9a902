// main.ts: the player app at / (docs/web.md). Screens are modules under screens/; adding one is
// an import and a route entry below.
import "../style.css";
import { h, replace } from "../lib/dom";
import { formatMinor } from "../lib/money";
import { Router, type Route } from "../lib/router";
import { PlayerApp } from "./app";
import { accountScreen } from "./screens/account";
import { historyScreen } from "./screens/history";
import { lobbyScreen } from "./screens/lobby";
import { loginScreen } from "./screens/login";
import { registerScreen } from "./screens/register";
import { verificationScreen } from "./screens/verification";
import { cashierScreen } from "./screens/cashier";
import { fairScreen } from "./screens/fair";
import { baccaratScreen, blackjackScreen, crashScreen, gameScreen } from "./screens/game";
import { rgScreen } from "./screens/rg";
import { roundScreen, roundsScreen } from "./screens/rounds";
import { installRealityCheck } from "./reality";

const routes: Route<PlayerApp>[] = [
  { path: "/", screen: lobbyScreen, nav: "Lobby" },
  { path: "/cashier", screen: cashierScreen, nav: "Cashier" },
  { path: "/games/:id", screen: gameScreen },
  { path: "/blackjack", screen: blackjackScreen },
  { path: "/baccarat", screen: baccaratScreen },
  { path: "/crash", screen: crashScreen },
  { path: "/rounds", screen: roundsScreen, nav: "Rounds" },
  { path: "/rounds/:id", screen: roundScreen },
  { path: "/history", screen: historyScreen, nav: "History" },
  { path: "/fair", screen: fairScreen, nav: "Fairness" },
  { path: "/responsible-gaming", screen: rgScreen, nav: "Safer gambling" },
  { path: "/account", screen: accountScreen, nav: "Account" },
  { path: "/verification", screen: verificationScreen, nav: "Verification" },
  { path: "/login", screen: loginScreen, public: true },
  { path: "/register", screen: registerScreen, public: true },
];

const app = new PlayerApp();
const top = document.getElementById("top")!;
const outlet = document.getElementById("main")!;

const router = new Router<PlayerApp>({
  base: "",
  routes,
  app,
  outlet,
  appName: "pitboss",
  loginPath: "/login",
  loggedIn: () => app.loggedIn(),
  onNavigate: () => header(),
});

function balanceText(): string {
  const b = app.cash();
  return b ? formatMinor(b.available_minor, b.exponent, b.currency) : "";
}

let balanceEl: HTMLElement | null = null;
let liveEl: HTMLElement | null = null;

function header(): void {
  const here = router.path();
  const link = (path: string, label: string) =>
    h("li", {}, h("a", { href: path, "aria-current": here === path ? "page" : null }, label));
  if (!app.loggedIn()) {
    balanceEl = liveEl = null;
    replace(top, h("div", { class: "bar" }, h("a", { class: "brand", href: "/" }, "pitboss"),
      h("nav", { "aria-label": "Main" }, h("ul", {}, link("/login", "Log in"), link("/register", "Register")))));
    return;
  }
  balanceEl = h("span", { class: "balance", "data-testid": "balance", "aria-live": "polite" }, balanceText());
  liveEl = h("span", { class: "live", "data-state": app.socketState }, app.socketState === "live" ? "live" : app.socketState);
  replace(top, h("div", { class: "bar" },
    h("a", { class: "brand", href: "/" }, "pitboss"),
    h("span", {}, h("span", { class: "muted" }, "Balance "), balanceEl, " ", liveEl),
    h("nav", { "aria-label": "Main" }, h("ul", {},
      ...routes.filter((r) => r.nav).map((r) => link(r.path, r.nav!)),
      h("li", {}, h("button", { type: "button", class: "secondary", onclick: async () => {
        await app.logout();
      } }, "Log out"))))));
}

app.watch(() => {
  if (balanceEl) balanceEl.textContent = balanceText();
  if (liveEl) {
    liveEl.dataset.state = app.socketState;
    liveEl.textContent = app.socketState;
  }
});
app.onSessionEnd = () => router.navigate("/login");
installRealityCheck(app);

void app.start().catch(() => app.end());
router.start();

import { useEffect, useState } from "preact/hooks";
import { api, setUnauthorizedHandler, type DashboardConfig, type User } from "./api";
import { Live } from "./live";
import { applyFrame, getState, refreshSummary, resetState, setState, useStore } from "./store";
import { Login } from "./views/Login";
import { Overview } from "./views/Overview";
import { Trades } from "./views/Trades";
import { TradeDetail } from "./views/TradeDetail";
import { Brokers } from "./views/Brokers";
import { Risk } from "./views/Risk";
import { Signals } from "./views/Signals";
import { Copy } from "./views/Copy";
import { Billing } from "./views/Billing";
import { Audit } from "./views/Audit";
import { Experiments } from "./views/Experiments";
import { Leaderboard } from "./views/Leaderboard";
import { Analytics } from "./views/Analytics";
import { Forgot, Reset } from "./views/Reset";
import { Toasts } from "./views/Toasts";

declare global {
  interface Window {
    /** Diagnostics and browser tests: the live connection and state. */
    __tradeexec?: { live: Live | null; state: typeof getState };
  }
}

let live: Live | null = null;
window.__tradeexec = { live: null, state: getState };

function startLive(): void {
  live?.stop();
  live = new Live({
    onEvent: applyFrame,
    onStatus: (status, detail) => setState({ status, statusDetail: detail ?? "" }),
    onReconnected: () => {
      setState({ banner: "Reconnected. Syncing portfolio…" });
      refreshSummary(0);
      window.setTimeout(() => setState({ banner: "" }), 3000);
    },
    onSignedOut: (reason) => signOutLocally(reason),
  });
  window.__tradeexec!.live = live;
  live.start();
}

function signOutLocally(reason = ""): void {
  live?.stop();
  live = null;
  window.__tradeexec!.live = null;
  resetState();
  if (reason) sessionStorage.setItem("signout-reason", reason);
  location.hash = "#/";
  setState({ user: null });
  window.dispatchEvent(new Event("tradeexec:signedout"));
}

export async function signedIn(): Promise<void> {
  const me = await api.get<{ user: User }>("/api/v1/me");
  const config = await api.get<DashboardConfig>("/api/v1/dashboard/config");
  setState({ user: me.user, config });
  startLive();
}

export async function signOut(): Promise<void> {
  try {
    await api.post("/auth/logout");
  } finally {
    signOutLocally();
  }
}

function useRoute(): string {
  const [route, setRoute] = useState(location.hash.slice(1) || "/");
  useEffect(() => {
    const on = () => setRoute(location.hash.slice(1) || "/");
    window.addEventListener("hashchange", on);
    return () => window.removeEventListener("hashchange", on);
  }, []);
  return route;
}

const NAV: [string, string][] = [
  ["/", "Overview"],
  ["/trades", "Trades"],
  ["/brokers", "Brokers"],
  ["/risk", "Risk"],
  ["/signals", "Signals"],
  ["/copy", "Copy trading"],
  ["/billing", "Billing"],
  ["/leaderboards", "Leaderboards"],
];

// Shown to administrators only (the API refuses the rest).
const ADMIN_NAV: [string, string] = ["/audit", "Audit"];
const ADMIN_EXPERIMENTS: [string, string] = ["/experiments", "Experiments"];
const ANALYTICS_NAV: [string, string] = ["/analytics", "Analytics"];

export function App() {
  const user = useStore((s) => s.user);
  const [checked, setChecked] = useState(false);
  const route = useRoute();

  useEffect(() => {
    setUnauthorizedHandler(() => signOutLocally("Your session has ended. Sign in again."));
    signedIn()
      .catch(() => undefined)
      .finally(() => setChecked(true));
    const onSignedOut = () => setChecked(true);
    window.addEventListener("tradeexec:signedout", onSignedOut);
    return () => window.removeEventListener("tradeexec:signedout", onSignedOut);
  }, []);

  // A flow that needed a sign-in (a Schwab consent coming back) resumes
  // here: #/resume?to=<same-origin path>; only known paths are followed.
  useEffect(() => {
    if (!user || !route.startsWith("/resume")) return;
    const to = new URLSearchParams(route.split("?")[1] ?? "").get("to") ?? "";
    if (to.startsWith("/brokers/schwab/callback?")) location.assign(to);
    else location.hash = "#/";
  }, [user, route]);

  if (!checked) return <div class="splash">Loading…</div>;
  if (!user && route === "/forgot") return <Forgot />;
  if (!user && route.startsWith("/reset")) return <Reset token={new URLSearchParams(route.split("?")[1] ?? "").get("token") ?? ""} />;
  if (!user) return <Login onSignedIn={signedIn} />;

  let page;
  if (route.startsWith("/trades/")) page = <TradeDetail id={route.slice("/trades/".length)} />;
  else if (route === "/trades") page = <Trades />;
  else if (route === "/brokers") page = <Brokers />;
  else if (route === "/risk") page = <Risk />;
  else if (route === "/signals") page = <Signals />;
  else if (route === "/copy") page = <Copy />;
  else if (route.startsWith("/billing")) page = <Billing />;
  else if (route === "/audit") page = <Audit />;
  else if (route === "/experiments") page = <Experiments />;
  else if (route === "/leaderboards") page = <Leaderboard />;
  else if (route === "/analytics") page = <Analytics />;
  else page = <Overview />;

  return (
    <div class="shell">
      <Header route={route} />
      <Banner />
      <main>{page}</main>
      <Toasts />
    </div>
  );
}

function Header({ route }: { route: string }) {
  const user = useStore((s) => s.user);
  const status = useStore((s) => s.status);
  const detail = useStore((s) => s.statusDetail);
  const [open, setOpen] = useState(false);
  const label = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Offline", "signed-out": "Signed out" }[status];
  return (
    <header class="topbar">
      <a class="brand" href="#/">
        tradeexec
      </a>
      <button class="menu" aria-label="Menu" aria-expanded={open} onClick={() => setOpen(!open)}>
        ☰
      </button>
      <nav class={open ? "open" : ""} onClick={() => setOpen(false)}>
        {(user?.role === "admin" ? [...NAV, ADMIN_NAV, ADMIN_EXPERIMENTS, ANALYTICS_NAV] : NAV).map(([href, name]) => (
          <a href={`#${href}`} class={(href === "/" ? route === "/" : route.startsWith(href)) ? "active" : ""}>
            {name}
          </a>
        ))}
      </nav>
      <span class={`live-status ${status}`} title={detail} data-testid="live-status">
        {label}
      </span>
      <span class="who">{user?.displayName || user?.email}</span>
      <button class="link" onClick={() => void signOut()}>
        Sign out
      </button>
    </header>
  );
}

function Banner() {
  const banner = useStore((s) => s.banner);
  const status = useStore((s) => s.status);
  const detail = useStore((s) => s.statusDetail);
  if (banner) {
    return (
      <div class="banner ok" role="status" data-testid="banner">
        {banner}
      </div>
    );
  }
  if (status === "reconnecting" || status === "offline") {
    return (
      <div class="banner warn" role="status" data-testid="banner">
        Connection lost. {detail || "Reconnecting…"}
      </div>
    );
  }
  return null;
}

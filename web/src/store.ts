// The dashboard's state and the reducer of live events. Amounts stay the
// decimal strings the server sends; totals come from the server
// (GET /api/v1/portfolio), never from float arithmetic here.

import { useEffect, useState } from "preact/hooks";
import { api, type DashboardConfig, type Position, type StateSync, type Summary, type Trade, type User } from "./api";
import type { Frame, LiveStatus } from "./live";

export interface Toast {
  id: number;
  text: string;
  kind: "info" | "success" | "error";
}

export interface State {
  user: User | null;
  config: DashboardConfig | null;
  status: LiveStatus;
  statusDetail: string;
  banner: string;
  synced: boolean;
  summary: Summary | null;
  positions: Position[];
  trades: Trade[]; // newest first
  pending: Trade[]; // not final, newest first
  toasts: Toast[];
  /** Bumped on every trade event, so open views can refresh. */
  tradeVersion: Record<string, number>;
}

const initial: State = {
  user: null,
  config: null,
  status: "connecting",
  statusDetail: "",
  banner: "",
  synced: false,
  summary: null,
  positions: [],
  trades: [],
  pending: [],
  toasts: [],
  tradeVersion: {},
};

let state: State = initial;
const listeners = new Set<() => void>();

export function getState(): State {
  return state;
}

export function setState(patch: Partial<State> | ((s: State) => Partial<State>)): void {
  const p = typeof patch === "function" ? patch(state) : patch;
  state = { ...state, ...p };
  for (const l of listeners) l();
}

export function resetState(): void {
  state = initial;
  for (const l of listeners) l();
}

/** Subscribes a component to a slice of the state. */
export function useStore<T>(select: (s: State) => T): T {
  const [value, setValue] = useState(() => select(state));
  useEffect(() => {
    const l = () => setValue(() => select(state));
    listeners.add(l);
    l();
    return () => {
      listeners.delete(l);
    };
  }, []);
  return value;
}

let toastId = 0;
export function toast(text: string, kind: Toast["kind"] = "info"): void {
  const id = ++toastId;
  setState((s) => ({ toasts: [...s.toasts, { id, text, kind }].slice(-4) }));
  window.setTimeout(() => setState((s) => ({ toasts: s.toasts.filter((t) => t.id !== id) })), 6000);
}

const FINAL = new Set(["filled", "rejected", "cancelled"]);
export const isFinal = (t: Trade) => FINAL.has(t.status);

function upsertTrade(list: Trade[], t: Trade): Trade[] {
  const i = list.findIndex((x) => x.id === t.id);
  if (i >= 0) {
    const next = list.slice();
    next[i] = t;
    return next;
  }
  return [t, ...list];
}

const posKey = (p: Position) => `${p.symbol}|${p.connectionId}`;

let summaryTimer: number | undefined;
/** Re-reads the totals shortly after portfolio events (debounced). */
export function refreshSummary(delay = 150): void {
  window.clearTimeout(summaryTimer);
  summaryTimer = window.setTimeout(async () => {
    try {
      const r = await api.get<{ portfolio: Summary; positions: Position[] }>("/api/v1/portfolio");
      setState({ summary: r.portfolio, positions: r.positions });
    } catch {
      /* the next event retries */
    }
  }, delay);
}

const TRADE_TOASTS: Record<string, (t: Trade, msg?: string) => [string, Toast["kind"]]> = {
  "trade.submitted": (t) => [`${t.side.toUpperCase()} ${t.quantity} ${t.symbol} sent to ${t.broker || "the broker"}.`, "info"],
  "trade.filled": (t) => [`${t.side.toUpperCase()} ${t.filledQuantity} ${t.symbol} filled${t.fillPrice ? ` @ ${t.fillPrice}` : ""}.`, "success"],
  "trade.partialFill": (t) => [`${t.symbol}: ${t.filledQuantity} of ${t.quantity} filled so far.`, "info"],
  "trade.rejected": (t, m) => [`${t.symbol} order rejected: ${m || t.message || "see the timeline"}`, "error"],
  "trade.cancelled": (t, m) => [`${t.symbol} order cancelled${m ? `: ${m}` : "."}`, "info"],
  "trade.queued": (t, m) => [m || `${t.symbol} queued for the market open.`, "info"],
  "trade.awaitingApproval": (t) => [`Approve ${t.side.toUpperCase()} ${t.quantity} ${t.symbol}? See Open orders.`, "info"],
};

/** Applies one live frame (in seq order). */
export function applyFrame(f: Frame): void {
  const d = f.data ?? {};
  if (f.type === "state.sync") {
    const s = d as StateSync;
    setState({
      synced: true,
      summary: s.portfolio,
      positions: s.positions ?? [],
      pending: s.pendingOrders ?? [],
      trades: mergeTrades(s.recentTrades ?? [], getState().trades),
    });
    return;
  }
  if (f.type.startsWith("trade.")) {
    const t = d.trade as Trade | undefined;
    if (!t) return;
    setState((s) => ({
      trades: upsertTrade(s.trades, t).slice(0, 200),
      pending: isFinal(t) ? s.pending.filter((x) => x.id !== t.id) : upsertTrade(s.pending, t),
      tradeVersion: { ...s.tradeVersion, [t.id]: (s.tradeVersion[t.id] ?? 0) + 1 },
    }));
    const mk = TRADE_TOASTS[f.type];
    if (mk) toast(...mk(t, d.message));
    return;
  }
  switch (f.type) {
    case "portfolio.positionAdded": {
      const p = d as Position;
      setState((s) => {
        const rest = s.positions.filter((x) => posKey(x) !== posKey(p));
        return { positions: [...rest, p].sort((a, b) => a.symbol.localeCompare(b.symbol)) };
      });
      refreshSummary();
      return;
    }
    case "portfolio.positionClosed": {
      const p = d as Position;
      setState((s) => ({ positions: s.positions.filter((x) => posKey(x) !== posKey(p)) }));
      refreshSummary();
      return;
    }
    case "market.quote": {
      setState((s) => ({
        positions: s.positions.map((p) =>
          p.symbol === d.symbol && p.connectionId === d.connectionId
            ? { ...p, currentPrice: d.price, marketValue: d.marketValue, unrealizedPnl: d.unrealizedPnl }
            : p,
        ),
      }));
      refreshSummary(500);
      return;
    }
    case "portfolio.balanceChanged":
      refreshSummary();
      return;
    case "security.notice":
      toast(d.message ?? "Security notice.", "error");
      return;
    case "connection.connected":
    case "connection.failed":
    case "connection.disconnected":
    case "connection.unhealthy":
    case "connection.recovered":
    case "risk.warning":
    case "risk.locked":
    case "risk.unlocked":
    case "risk.positionsClosed":
      if (d.message) toast(d.message, f.type.endsWith("failed") || f.type.endsWith("unhealthy") || f.type === "risk.locked" ? "error" : "info");
      return;
  }
}

/** Keeps trades already shown that a state.sync no longer lists (older). */
function mergeTrades(fresh: Trade[], old: Trade[]): Trade[] {
  const seen = new Set(fresh.map((t) => t.id));
  return [...fresh, ...old.filter((t) => !seen.has(t.id))]
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, 200);
}

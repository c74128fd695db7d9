import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Trade } from "../api";
import { fmtMoney, fmtQty, fmtTime, statusLabel } from "../format";
import { useStore } from "../store";

const STATUSES = ["", "pending", "queued", "submitted", "partial_fill", "filled", "rejected", "cancelled"];

// Trade history: the last 50, newest first. New trades are prepended live;
// with a filter, the server's filtered list plus live trades that match.
export function Trades() {
  const live = useStore((s) => s.trades);
  const [status, setStatus] = useState("");
  const [symbol, setSymbol] = useState("");
  const [fetched, setFetched] = useState<Trade[] | null>(null);
  const [error, setError] = useState("");
  const filtered = status !== "" || symbol !== "";

  useEffect(() => {
    if (!filtered) {
      setFetched(null);
      return;
    }
    const q = new URLSearchParams({ limit: "50" });
    if (status) q.set("status", status);
    if (symbol) q.set("symbol", symbol);
    let cancelled = false;
    api
      .get<{ trades: Trade[] }>(`/api/v1/trades?${q}`)
      .then((r) => !cancelled && (setFetched(r.trades), setError("")))
      .catch((e) => !cancelled && setError(e instanceof ApiError ? e.message : "Could not load trades."));
    return () => {
      cancelled = true;
    };
  }, [status, symbol]);

  const matches = (t: Trade) => (!status || t.status === status) && (!symbol || t.symbol === symbol);
  let rows: Trade[];
  if (!filtered) rows = live.slice(0, 50);
  else {
    const byId = new Map<string, Trade>();
    for (const t of fetched ?? []) byId.set(t.id, t);
    for (const t of live) if (matches(t)) byId.set(t.id, t);
    for (const [id, t] of byId) if (!matches(t)) byId.delete(id);
    rows = [...byId.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 50);
  }

  return (
    <section class="card">
      <h2>Trade history</h2>
      <div class="filters">
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value)} data-testid="filter-status">
            {STATUSES.map((s) => (
              <option value={s}>{s ? statusLabel(s) : "All"}</option>
            ))}
          </select>
        </label>
        <label>
          Symbol
          <input value={symbol} placeholder="Any" onChange={(e) => setSymbol(e.currentTarget.value.trim().toUpperCase())} />
        </label>
      </div>
      {error && <p class="error">{error}</p>}
      {rows.length === 0 ? (
        <p class="muted">No trades yet. Post a TradingView alert or place an order.</p>
      ) : (
        <div class="table-wrap">
          <table class="trades" data-testid="trades">
            <thead>
              <tr>
                <th>Time</th>
                <th>Symbol</th>
                <th>Side</th>
                <th class="num">Quantity</th>
                <th class="num">Price</th>
                <th>Status</th>
                <th class="hide-sm">Source</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((t) => (
                <tr key={t.id} data-trade-id={t.id} data-status={t.status} onClick={() => (location.hash = `#/trades/${t.id}`)}>
                  <td>{fmtTime(t.createdAt)}</td>
                  <td>
                    <a href={`#/trades/${t.id}`}>{t.symbol}</a>
                  </td>
                  <td class={t.side === "buy" ? "pos" : "neg"}>{t.side.toUpperCase()}</td>
                  <td class="num">{t.status === "filled" || t.status === "partial_fill" ? fmtQty(t.filledQuantity) : fmtQty(t.quantity)}</td>
                  <td class="num">{fmtMoney(t.fillPrice ?? t.limitPrice)}</td>
                  <td>
                    <span class={`pill ${t.status}`}>{statusLabel(t.status)}</span>
                  </td>
                  <td class="hide-sm">{t.source}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

import { useState } from "preact/hooks";
import { api, ApiError, type Trade } from "../api";
import { fmtMoney, fmtQty, fmtSignedMoney, fmtTime, sign, statusLabel } from "../format";
import { toast, useStore } from "../store";
import { EquityChart } from "./EquityChart";
import { PerformancePanel } from "./Performance";

export function Overview() {
  return (
    <div class="grid">
      <Summary />
      <section class="card span2">
        <h2>Equity</h2>
        <EquityChart />
      </section>
      <Positions />
      <PerformancePanel />
      <OrderForm />
      <QueuedOrders />
    </div>
  );
}

function Summary() {
  const s = useStore((st) => st.summary);
  const synced = useStore((st) => st.synced);
  const cards: [string, string, string, string][] = [
    ["Portfolio value", fmtMoney(s?.value), "", "portfolio-value"],
    ["Cash", fmtMoney(s?.cash), "", "cash"],
    ["Buying power", fmtMoney(s?.buyingPower), "", "buying-power"],
    ["Unrealized P&L", fmtSignedMoney(s?.unrealizedPnl), sign(s?.unrealizedPnl), "unrealized-pnl"],
  ];
  return (
    <section class="cards span2" aria-busy={!synced}>
      {cards.map(([label, value, cls, id]) => (
        <div class="card stat">
          <span class="muted">{label}</span>
          <strong class={cls} data-testid={id}>
            {value}
          </strong>
        </div>
      ))}
      {s?.updatedAt && <p class="muted small span-all">Balances as of {fmtTime(s.updatedAt)}</p>}
    </section>
  );
}

function Positions() {
  const positions = useStore((s) => s.positions);
  return (
    <section class="card span2">
      <h2>Positions</h2>
      {positions.length === 0 ? (
        <p class="muted">No open positions.</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="positions">
            <thead>
              <tr>
                <th>Symbol</th>
                <th class="num">Quantity</th>
                <th class="num">Avg. price</th>
                <th class="num">Price</th>
                <th class="num">Market value</th>
                <th class="num">Unrealized P&L</th>
              </tr>
            </thead>
            <tbody>
              {positions.map((p) => (
                <tr key={p.symbol + p.connectionId}>
                  <td>{p.symbol}</td>
                  <td class="num">{fmtQty(p.quantity)}</td>
                  <td class="num">{fmtMoney(p.averageEntryPrice)}</td>
                  <td class="num">{fmtMoney(p.currentPrice)}</td>
                  <td class="num">{fmtMoney(p.marketValue)}</td>
                  <td class={`num ${sign(p.unrealizedPnl)}`}>{fmtSignedMoney(p.unrealizedPnl)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2));

function OrderForm() {
  const [symbol, setSymbol] = useState("");
  const [side, setSide] = useState("buy");
  const [quantity, setQuantity] = useState("");
  const [orderType, setOrderType] = useState("market");
  const [limitPrice, setLimitPrice] = useState("");
  const [stopPrice, setStopPrice] = useState("");
  const [stopLoss, setStopLoss] = useState("");
  const [key, setKey] = useState(newKey);
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const needLimit = orderType === "limit" || orderType === "stop_limit";
  const needStop = orderType === "stop" || orderType === "stop_limit";

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, string> = { symbol, side, quantity, orderType, idempotencyKey: key };
      if (needLimit) body.limitPrice = limitPrice;
      if (needStop) body.stopPrice = stopPrice;
      if (stopLoss) body.stopLossPercent = stopLoss;
      const r = await api.post<{ signal: string; duplicate: boolean }>("/api/v1/orders", body);
      toast(`Order received: ${r.signal}`, "success");
      setKey(newKey());
      setQuantity("");
    } catch (err) {
      setError(err instanceof ApiError ? { field: err.field, message: err.message } : { message: "Could not reach the server." });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card">
      <h2>New order</h2>
      <p class="muted small">Manual orders follow your risk settings; an order above your position limit is refused.</p>
      <form class="form" onSubmit={submit} data-testid="order-form">
        <div class="row">
          <label>
            Symbol
            <input name="symbol" required placeholder="AAPL or BTC-USD" value={symbol} onInput={(e) => setSymbol(e.currentTarget.value.toUpperCase())} />
          </label>
          <label>
            Side
            <select name="side" value={side} onChange={(e) => setSide(e.currentTarget.value)}>
              <option value="buy">Buy</option>
              <option value="sell">Sell</option>
            </select>
          </label>
        </div>
        <div class="row">
          <label>
            Quantity
            <input name="quantity" required inputMode="decimal" value={quantity} onInput={(e) => setQuantity(e.currentTarget.value)} />
          </label>
          <label>
            Type
            <select name="orderType" value={orderType} onChange={(e) => setOrderType(e.currentTarget.value)}>
              <option value="market">Market</option>
              <option value="limit">Limit</option>
              <option value="stop">Stop</option>
              <option value="stop_limit">Stop limit</option>
            </select>
          </label>
        </div>
        {(needLimit || needStop) && (
          <div class="row">
            {needLimit && (
              <label>
                Limit price
                <input name="limitPrice" required inputMode="decimal" value={limitPrice} onInput={(e) => setLimitPrice(e.currentTarget.value)} />
              </label>
            )}
            {needStop && (
              <label>
                Stop price
                <input name="stopPrice" required inputMode="decimal" value={stopPrice} onInput={(e) => setStopPrice(e.currentTarget.value)} />
              </label>
            )}
          </div>
        )}
        <label>
          Stop-loss % (optional; default from your risk settings)
          <input name="stopLossPercent" inputMode="decimal" value={stopLoss} onInput={(e) => setStopLoss(e.currentTarget.value)} />
        </label>
        {error && (
          <p class="error" role="alert">
            {error.field ? `${error.field}: ` : ""}
            {error.message}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy}>
          {busy ? "Sending…" : `Place ${side} order`}
        </button>
      </form>
    </section>
  );
}

function QueuedOrders() {
  const pending = useStore((s) => s.pending);
  return (
    <section class="card">
      <h2>Open and queued orders</h2>
      {pending.length === 0 ? (
        <p class="muted">No open orders.</p>
      ) : (
        <ul class="orders" data-testid="queued-orders">
          {pending.map((t) => (
            <PendingRow key={t.id} t={t} />
          ))}
        </ul>
      )}
    </section>
  );
}

// Orders the trader can cancel (POST /api/v1/trades/{id}/cancel): waiting
// for the open or a halt, or working at the broker. A cancel signal (no
// order type) places no order, so it has nothing to cancel.
const CANCELLABLE = new Set(["pending", "pending_approval", "queued", "market_halted", "submitted", "partial_fill"]);

function PendingRow({ t }: { t: Trade }) {
  const [busy, setBusy] = useState(false);
  const cancellable = CANCELLABLE.has(t.status) && t.orderType !== "";
  async function answer(approve: boolean) {
    setBusy(true);
    try {
      const r = await api.post<{ message?: string }>(`/api/v1/trades/${t.id}/${approve ? "approve" : "reject"}`);
      toast(`${t.symbol}: ${r.message ?? (approve ? "Approved." : "Rejected.")}`, approve ? "success" : undefined);
    } catch (err) {
      toast(err instanceof ApiError ? err.message : "Could not send your answer.", "error");
    } finally {
      setBusy(false);
    }
  }
  async function cancel() {
    setBusy(true);
    try {
      const r = await api.post<{ message?: string }>(`/api/v1/trades/${t.id}/cancel`);
      toast(r.message ? `${t.symbol}: ${r.message}` : `Cancelling ${t.symbol}…`);
    } catch (err) {
      toast(err instanceof ApiError ? err.message : "Could not cancel.", "error");
    } finally {
      setBusy(false);
    }
  }
  return (
    <li data-trade-id={t.id}>
      <a href={`#/trades/${t.id}`}>
        <strong>
          {t.side.toUpperCase()} {fmtQty(t.quantity)} {t.symbol}
        </strong>{" "}
        <span class={`pill ${t.status}`}>{statusLabel(t.status)}</span>
      </a>
      <span class="muted small">{t.queuedUntil ? `until ${fmtTime(t.queuedUntil)}` : fmtTime(t.createdAt)}</span>
      {t.status === "pending_approval" && (
        <>
          <button class="primary small" disabled={busy} onClick={() => answer(true)} data-testid="approve-order">
            Approve
          </button>
          <button class="danger small" disabled={busy} onClick={() => answer(false)} data-testid="reject-order">
            Reject
          </button>
        </>
      )}
      {cancellable && t.status !== "pending_approval" && (
        <button class="danger small" disabled={busy} onClick={cancel} data-testid="cancel-order">
          Cancel
        </button>
      )}
    </li>
  );
}

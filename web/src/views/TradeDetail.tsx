import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type Step, type TakeProfitLeg, type Trade } from "../api";
import { actionLabel, fmtMoney, fmtQty, fmtTime, statusLabel } from "../format";
import { useStore } from "../store";

// A trade's timeline: each workflow step with its time and reason (the
// trade's audit entries), and for support staff a link to the workflow in
// the Temporal UI.
export function TradeDetail({ id }: { id: string }) {
  const version = useStore((s) => s.tradeVersion[id] ?? 0);
  const temporalUi = useStore((s) => s.config?.temporalUi);
  const [data, setData] = useState<{ trade: Trade; timeline: Step[]; takeProfitLegs?: TakeProfitLeg[] } | null>(null);
  const [error, setError] = useState("");

  useEffect(() => {
    let cancelled = false;
    api
      .get<{ trade: Trade; timeline: Step[]; takeProfitLegs?: TakeProfitLeg[] }>(`/api/v1/trades/${encodeURIComponent(id)}`)
      .then((r) => !cancelled && setData(r))
      .catch((e) => !cancelled && setError(e instanceof ApiError ? e.message : "Could not load the trade."));
    return () => {
      cancelled = true;
    };
  }, [id, version]);

  if (error) return <section class="card"><p class="error">{error}</p></section>;
  if (!data) return <section class="card"><p class="muted">Loading…</p></section>;
  const t = data.trade;
  return (
    <section class="card" data-testid="trade-detail">
      <p>
        <a href="#/trades">← Trade history</a>
      </p>
      <h2>
        {t.side.toUpperCase()} {fmtQty(t.quantity)} {t.symbol} <span class={`pill ${t.status}`}>{statusLabel(t.status)}</span>
      </h2>
      <dl class="facts">
        <dt>Broker</dt>
        <dd>{t.broker || "—"}</dd>
        <dt>Order</dt>
        <dd>
          {statusLabel(t.orderType)}
          {t.limitPrice ? ` @ ${fmtMoney(t.limitPrice)}` : ""}
        </dd>
        <dt>Filled</dt>
        <dd>
          {fmtQty(t.filledQuantity)}
          {t.fillPrice ? ` @ ${fmtMoney(t.fillPrice)}` : ""}
        </dd>
        <dt>Stop-loss</dt>
        <dd>{fmtMoney(t.stopLossPrice)}</dd>
        {t.takeProfit && !data.takeProfitLegs?.length && (
          <>
            <dt>Take-profit</dt>
            <dd data-testid="take-profit">
              {fmtMoney(t.takeProfit.price)} <span class={`pill ${t.takeProfit.status}`}>{statusLabel(t.takeProfit.status)}</span>
              {t.takeProfit.mode === "native" && (
                <span data-testid="take-profit-mode">
                  {" "}
                  one-cancels-other with the stop at the broker (take-profit order {t.takeProfit.orderId}; stop order{" "}
                  {t.takeProfit.stopOrderId}{" "}
                  {t.takeProfit.stopStatus && (
                    <span class={`pill ${t.takeProfit.stopStatus}`}>{statusLabel(t.takeProfit.stopStatus)}</span>
                  )}
                  )
                </span>
              )}
              {t.takeProfit.mode === "emulated" && <span data-testid="take-profit-mode"> watched by TradeExec</span>}
              {t.takeProfit.exitTradeId && (
                <>
                  {" "}
                  <a href={`#/trades/${t.takeProfit.exitTradeId}`}>exit trade</a>
                </>
              )}
            </dd>
          </>
        )}
        <dt>Source</dt>
        <dd>{t.source}</dd>
        {t.sizingNote && (
          <>
            <dt>Sizing</dt>
            <dd>{t.sizingNote}</dd>
          </>
        )}
        {t.message && (
          <>
            <dt>Reason</dt>
            <dd>{t.message}</dd>
          </>
        )}
      </dl>
      {!!data.takeProfitLegs?.length && <Ladder legs={data.takeProfitLegs} />}
      {temporalUi && (
        <p>
          <a href={temporalUi + encodeURIComponent(t.workflowId)} target="_blank" rel="noopener noreferrer" data-testid="temporal-link">
            Open workflow in Temporal UI
          </a>
        </p>
      )}
      <h3>Timeline</h3>
      <ol class="timeline" data-testid="timeline">
        {[...data.timeline].sort((a, b) => a.at.localeCompare(b.at)).map((s) => (
          <li class={s.status === "failure" ? "failed" : ""}>
            <time>{fmtTime(s.at)}</time>
            <strong>{actionLabel(s.action)}</strong>
            {s.message && <span class="reason">{s.message}</span>}
          </li>
        ))}
      </ol>
    </section>
  );
}

// A take-profit ladder: each leg with its target, quantity and state, the
// exit trade that sold it, and the stop move it triggers.
function Ladder({ legs }: { legs: TakeProfitLeg[] }) {
  return (
    <>
      <h3>Take-profit targets</h3>
      <table class="table" data-testid="take-profit-legs">
        <thead>
          <tr>
            <th>Target</th>
            <th>Price</th>
            <th>Quantity</th>
            <th>State</th>
            <th>Then</th>
          </tr>
        </thead>
        <tbody>
          {legs.map((l) => (
            <tr key={l.n}>
              <td>TP{l.n}</td>
              <td>{fmtMoney(l.target)}</td>
              <td>{l.mergedInto ? `merged into TP${l.mergedInto}` : fmtQty(l.quantity)}</td>
              <td>
                <span class={`pill ${l.status}`}>{statusLabel(l.status)}</span>
                {l.fillPrice && ` ${fmtQty(l.filledQuantity)} @ ${fmtMoney(l.fillPrice)}`}
                {l.exitTradeId && (
                  <>
                    {" "}
                    <a href={`#/trades/${l.exitTradeId}`}>exit trade</a>
                  </>
                )}
              </td>
              <td class="muted small">
                {l.stopMove === "breakeven" && `stop to breakeven ${fmtMoney(l.stopPrice)}${l.stopMovedAt ? " ✓" : ""}`}
                {l.stopMove === "trail" && `stop trails ${l.trailPercent}%${l.stopMovedAt ? " ✓" : ""}`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { fmtMoney, fmtSignedMoney, sign } from "../format";
import { useStore } from "../store";

// GET /api/v1/performance (FR-049): amounts are exact decimal strings.
interface Figures {
  key?: string; // a source: "discord:<id>", "copy:<leader id>", "tradingview", "dashboard"; a symbol
  name?: string; // a source's readable name (channel name, "Copy: <leader>", "TradingView webhook", "Dashboard")
  kind?: string;
  totalTrades: number; // FR-049 total_trades: closed round trips (one per exit)
  closedTrades: number;
  wins: number;
  losses: number;
  winRate: string;
  realizedPnl: string;
  unrealizedPnl: string;
  averageWin: string;
  averageLoss: string;
  averagePnl: string;
  averageReturn: string; // mean of P&L ÷ cost basis per closed trade, a fraction
  largestWin: string;
  largestLoss: string;
  maxDrawdown: string;
  openLots: number;
}

interface Summary {
  overall: Figures;
  bySource: Figures[];
  bySymbol: Figures[];
  unpriced: string[];
}

const pct = (v: string) => (Number(v) * 100).toFixed(1) + "%";
const pctSigned = (v: string) => (Number(v) > 0 ? "+" : "") + (Number(v) * 100).toFixed(2) + "%";

// The trader's performance: overall cards, then tables per individual
// signal source (each channel followed, the webhook, each copy leader, the
// dashboard) and per symbol. Reloaded when the portfolio is re-synced (after fills).
export function PerformancePanel() {
  const [data, setData] = useState<Summary | null>(null);
  const [error, setError] = useState("");
  const synced = useStore((s) => s.summary?.updatedAt);
  useEffect(() => {
    api
      .get<{ performance: Summary }>("/api/v1/performance")
      .then((r) => {
        setData(r.performance);
        setError("");
      })
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load performance."));
  }, [synced]);

  if (error) return <section class="card span2"><h2>Performance</h2><p class="error">{error}</p></section>;
  if (!data) return <section class="card span2"><h2>Performance</h2><p class="muted">Loading…</p></section>;
  const o = data.overall;
  const cards: [string, string, string, string][] = [
    ["Total trades", String(o.totalTrades), "", "perf-closed"],
    ["Win rate", o.closedTrades ? pct(o.winRate) : "—", "", "perf-win-rate"],
    ["Avg. return", o.closedTrades ? pctSigned(o.averageReturn) : "—", sign(o.averageReturn), "perf-avg-return"],
    ["Realized P&L", fmtSignedMoney(o.realizedPnl), sign(o.realizedPnl), "perf-realized"],
    ["Unrealized P&L", fmtSignedMoney(o.unrealizedPnl), sign(o.unrealizedPnl), "perf-unrealized"],
    ["Avg. win / loss", `${fmtSignedMoney(o.averageWin)} / ${fmtSignedMoney(o.averageLoss)}`, "", "perf-avg"],
    ["Largest win / loss", `${fmtSignedMoney(o.largestWin)} / ${fmtSignedMoney(o.largestLoss)}`, "", "perf-largest"],
    ["Max drawdown", fmtMoney(o.maxDrawdown), Number(o.maxDrawdown) > 0 ? "neg" : "", "perf-drawdown"],
  ];
  return (
    <section class="card span2 perf" data-testid="performance">
      <h2>Performance</h2>
      <div class="cards">
        {cards.map(([label, value, cls, id]) => (
          <div class="card stat" key={id}>
            <span class="muted">{label}</span>
            <strong class={cls} data-testid={id}>
              {value}
            </strong>
          </div>
        ))}
      </div>
      {data.unpriced.length > 0 && (
        <p class="muted small">No current price for {data.unpriced.join(", ")}: their unrealized P&L is not included.</p>
      )}
      {o.closedTrades === 0 && o.openLots === 0 ? (
        <p class="muted">No fills yet: your statistics appear after your first trade fills.</p>
      ) : (
        <>
          <Breakdown title="By signal source" rows={data.bySource} id="perf-by-source" />
          <Breakdown title="By symbol" rows={data.bySymbol} id="perf-by-symbol" />
        </>
      )}
    </section>
  );
}

function Breakdown({ title, rows, id }: { title: string; rows: Figures[]; id: string }) {
  if (rows.length === 0) return null;
  return (
    <div class="table-wrap">
      <h3>{title}</h3>
      <table data-testid={id}>
        <thead>
          <tr>
            <th></th>
            <th class="num">Trades</th>
            <th class="num">Win rate</th>
            <th class="num">Avg. return</th>
            <th class="num">Realized</th>
            <th class="num">Unrealized</th>
            <th class="num">Avg. win</th>
            <th class="num">Avg. loss</th>
            <th class="num">Largest win</th>
            <th class="num">Largest loss</th>
            <th class="num">Max drawdown</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}>
              <td>{r.name || r.key || "—"}</td>
              <td class="num">{r.totalTrades}</td>
              <td class="num">{r.closedTrades ? pct(r.winRate) : "—"}</td>
              <td class={`num ${sign(r.averageReturn)}`}>{r.closedTrades ? pctSigned(r.averageReturn) : "—"}</td>
              <td class={`num ${sign(r.realizedPnl)}`}>{fmtSignedMoney(r.realizedPnl)}</td>
              <td class={`num ${sign(r.unrealizedPnl)}`}>{fmtSignedMoney(r.unrealizedPnl)}</td>
              <td class="num">{fmtSignedMoney(r.averageWin)}</td>
              <td class="num">{fmtSignedMoney(r.averageLoss)}</td>
              <td class="num">{fmtSignedMoney(r.largestWin)}</td>
              <td class="num">{fmtSignedMoney(r.largestLoss)}</td>
              <td class="num">{fmtMoney(r.maxDrawdown)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

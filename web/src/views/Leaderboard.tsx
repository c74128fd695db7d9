import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { fmtTime, sign } from "../format";
import { EquityChart } from "./EquityChart";

// Community → Leaderboards (issue 17, SPEC US-011 #3): the opted-in public
// leaders ranked over 7/30/90 days by return, win rate, drawdown, the
// Sharpe-like ratio or followers, a page at a time, and the chosen
// leader's equity curve. Private leaders are never listed; their curve
// answers "Profile Private".

export interface LeaderRow {
  rank: number;
  leaderId: string;
  displayName: string;
  returnPct: string;
  winRatePct: string;
  maxDrawdownPct: string;
  sharpe: string;
  followers: number;
  trades: number;
  fills: number;
  portfolioValue: string;
}

interface LeaderPage {
  period: string;
  sort: string;
  page: number;
  pageSize: number;
  total: number;
  asOf?: string;
  entries: LeaderRow[];
}

const PERIODS: [string, string][] = [
  ["7d", "7 days"],
  ["30d", "30 days"],
  ["90d", "90 days"],
];

const SORTS: [string, string][] = [
  ["return", "Return"],
  ["winrate", "Win rate"],
  ["drawdown", "Smallest drawdown"],
  ["sharpe", "Sharpe-like"],
  ["followers", "Followers"],
];

const PAGE_SIZE = 25;

function pct(v: string, signed = false): string {
  const n = Number(v);
  if (!Number.isFinite(n)) return "—";
  return `${signed && n > 0 ? "+" : ""}${n.toFixed(2)}%`;
}

export function Leaderboard() {
  const [period, setPeriod] = useState("30d");
  const [sort, setSort] = useState("return");
  const [page, setPage] = useState(1);
  const [data, setData] = useState<LeaderPage | null>(null);
  const [error, setError] = useState("");
  const [selected, setSelected] = useState<LeaderRow | null>(null);
  const [curveError, setCurveError] = useState("");

  useEffect(() => {
    let cancelled = false;
    setError("");
    api
      .get<LeaderPage>(`/api/v1/leaderboards?period=${period}&sort=${sort}&page=${page}&page_size=${PAGE_SIZE}`)
      .then((r) => {
        if (cancelled) return;
        setData(r);
        if (!selected && r.entries.length) setSelected(r.entries[0]);
      })
      .catch((e) => !cancelled && setError(e instanceof ApiError ? e.message : "Could not load the leaderboard."));
    return () => {
      cancelled = true;
    };
  }, [period, sort, page]);

  const pages = data ? Math.max(1, Math.ceil(data.total / data.pageSize)) : 1;
  return (
    <>
      <section class="card" data-testid="leaderboard">
        <h2>Leaderboards</h2>
        <div class="filters">
          <label>
            Period
            <select
              value={period}
              data-testid="leaderboard-period"
              onChange={(e) => {
                setPeriod(e.currentTarget.value);
                setPage(1);
              }}
            >
              {PERIODS.map(([v, l]) => (
                <option value={v}>{l}</option>
              ))}
            </select>
          </label>
          <label>
            Rank by
            <select
              value={sort}
              data-testid="leaderboard-sort"
              onChange={(e) => {
                setSort(e.currentTarget.value);
                setPage(1);
              }}
            >
              {SORTS.map(([v, l]) => (
                <option value={v}>{l}</option>
              ))}
            </select>
          </label>
        </div>
        {error && <p class="error">{error}</p>}
        {data && data.entries.length === 0 ? (
          <p class="muted">No public leaders yet. Leaders appear here once they allow copy trading with a public profile.</p>
        ) : (
          <div class="table-wrap">
            <table class="trades" data-testid="leaderboard-table">
              <thead>
                <tr>
                  <th class="num">#</th>
                  <th>Trader</th>
                  <th class="num">Return</th>
                  <th class="num">Win rate</th>
                  <th class="num hide-sm">Max drawdown</th>
                  <th class="num hide-sm">Sharpe-like</th>
                  <th class="num">Followers</th>
                  <th class="num hide-sm">Trades</th>
                  <th class="num hide-sm">Portfolio</th>
                </tr>
              </thead>
              <tbody>
                {data?.entries.map((r) => (
                  <tr
                    key={r.leaderId}
                    data-leader-id={r.leaderId}
                    class={selected?.leaderId === r.leaderId ? "selected" : ""}
                    onClick={() => {
                      setSelected(r);
                      setCurveError("");
                    }}
                  >
                    <td class="num">{r.rank}</td>
                    <td>@{r.displayName}</td>
                    <td class={`num ${sign(r.returnPct)}`}>{pct(r.returnPct, true)}</td>
                    <td class="num">{pct(r.winRatePct)}</td>
                    <td class="num hide-sm">{pct(r.maxDrawdownPct)}</td>
                    <td class="num hide-sm">{Number(r.sharpe).toFixed(2)}</td>
                    <td class="num">{r.followers}</td>
                    <td class="num hide-sm">{r.trades}</td>
                    <td class="num hide-sm">{usdShort(r.portfolioValue)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {data && data.total > data.pageSize && (
          <div class="filters">
            <button disabled={page <= 1} onClick={() => setPage(page - 1)}>
              Previous
            </button>
            <span class="muted">
              Page {page} of {pages}
            </span>
            <button disabled={page >= pages} onClick={() => setPage(page + 1)}>
              Next
            </button>
          </div>
        )}
        {data?.asOf && <p class="muted">Computed from recorded fills; updated {fmtTime(data.asOf)}.</p>}
      </section>
      {selected && (
        <section class="card" data-testid="leader-equity">
          <h2>@{selected.displayName} — equity ({PERIODS.find(([v]) => v === period)?.[1]})</h2>
          {curveError && <p class="error">{curveError}</p>}
          <EquityChart
            key={`${selected.leaderId}/${period}`}
            url={`/api/v1/leaders/${selected.leaderId}/equity?period=${period}`}
            live={false}
            emptyText="No equity curve for this period."
            onError={(e) => setCurveError(e instanceof ApiError ? e.message : "Could not load the equity curve.")}
          />
        </section>
      )}
    </>
  );
}

// "$250K" (SPEC US-011 #3's portfolio column).
function usdShort(v: string): string {
  const n = Number(v);
  if (!isFinite(n)) return "";
  if (n >= 1e6) return `$${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `$${Math.round(n / 1e3)}K`;
  return `$${Math.round(n)}`;
}

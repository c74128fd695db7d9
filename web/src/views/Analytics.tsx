import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { fmtTime } from "../format";
import { useStore } from "../store";

// Admin revenue analytics (issue 16): MRR/ARR and the MRR movements per
// month, sign-up cohort retention, and CLV per plan and cohort, read from
// the tables the hourly analytics-refresh schedule materialises (USD).
// Hidden from other roles, and the API refuses them (403) anyway.

interface RevenueMonth {
  month: string;
  mrr: string;
  arr: string;
  newMrr: string;
  expansionMrr: string;
  contractionMrr: string;
  churnedMrr: string;
  reactivatedMrr: string;
  cash: string;
  refunds: string;
  payingAccounts: number;
  byTier?: { tier: string; mrr: string; accounts: number }[];
  growthPct?: string;
}
interface CohortCell {
  cohort: string;
  offset: number;
  size: number;
  retained: number;
}
interface CLV {
  kind: string;
  group: string;
  accountMonths: number;
  churned: number;
  atRisk: number;
  arpa: string;
  clv: string | null;
}
interface TraderValue {
  userId: string;
  tier: string;
  paidMonths: number;
  avgMrr: string;
  retentionMonths: string | null;
  notional12m: string;
  volumeBonus: string;
  clv: string | null;
  highValue: boolean;
}
interface TraderValues {
  traders: TraderValue[];
  highValueClv: string;
}
interface Report {
  refreshedAt: string | null;
  asOf: string;
  unconvertedInvoices: Record<string, number>;
  revenue?: RevenueMonth[];
  cohorts?: CohortCell[];
  clv?: CLV[];
}

const usd = (v: string) => `$${Number(v).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

// A loss shown with its sign; zero without one.
const neg = (v: string) => (Number(v) === 0 ? usd(v) : `−${usd(v)}`);

function useReport(path: string): [Report | null, string] {
  const [rep, setRep] = useState<Report | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api
      .get<Report>(path)
      .then(setRep)
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load the analytics."));
  }, [path]);
  return [rep, error];
}

function Csv({ table }: { table: string }) {
  return (
    <a href={`/api/v1/admin/analytics/${table}?format=csv`} download data-testid={`analytics-csv-${table}`}>
      Download CSV
    </a>
  );
}

export function Analytics() {
  const user = useStore((s) => s.user);
  if (user?.role !== "admin") {
    return (
      <section class="card" data-testid="analytics-refused">
        <h2>Analytics</h2>
        <p class="error">Analytics are for administrators.</p>
      </section>
    );
  }
  return (
    <>
      <Revenue />
      <Cohorts />
      <LifetimeValue />
      <ChurnRisk />
    </>
  );
}

function Revenue() {
  const [rep, error] = useReport("/api/v1/admin/analytics/revenue");
  const unconverted = rep ? Object.entries(rep.unconvertedInvoices ?? {}) : [];
  return (
    <section class="card">
      <h2>Revenue (USD)</h2>
      {error && <p class="error">{error}</p>}
      {rep && (
        <p class="muted">
          {rep.refreshedAt ? `Refreshed ${fmtTime(rep.refreshedAt)} (hourly), through ${rep.asOf}.` : "Not computed yet: the hourly refresh has not run."}
          {unconverted.length > 0 && ` Left out (no fixed USD rate): ${unconverted.map(([c, n]) => `${n} ${c}`).join(", ")} invoices.`}{" "}
          <Csv table="revenue" />
        </p>
      )}
      {rep?.revenue && rep.revenue.length > 0 && <RevenueSummary months={rep.revenue} />}
      {rep?.revenue && rep.revenue.length > 1 && <MrrTrend months={rep.revenue} />}
      <ReportExport />
      {rep?.revenue && rep.revenue.length > 0 && (
        <div class="table-wrap">
          <table data-testid="analytics-revenue">
            <thead>
              <tr>
                <th>Month</th>
                <th class="num">MRR</th>
                <th class="num">ARR</th>
                <th class="num">New</th>
                <th class="num">Expansion</th>
                <th class="num">Contraction</th>
                <th class="num">Churned</th>
                <th class="num">Reactivated</th>
                <th class="num hide-sm">Cash</th>
                <th class="num hide-sm">Refunds</th>
                <th class="num">Paying</th>
              </tr>
            </thead>
            <tbody>
              {rep.revenue.map((m) => (
                <tr key={m.month}>
                  <td>{m.month}</td>
                  <td class="num">{usd(m.mrr)}</td>
                  <td class="num">{usd(m.arr)}</td>
                  <td class="num">{usd(m.newMrr)}</td>
                  <td class="num">{usd(m.expansionMrr)}</td>
                  <td class="num">{neg(m.contractionMrr)}</td>
                  <td class="num">{neg(m.churnedMrr)}</td>
                  <td class="num">{usd(m.reactivatedMrr)}</td>
                  <td class="num hide-sm">{usd(m.cash)}</td>
                  <td class="num hide-sm">{usd(m.refunds)}</td>
                  <td class="num">{m.payingAccounts}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

// FR-041/042: the latest month's MRR by plan tier, ARR and growth.
function RevenueSummary({ months }: { months: RevenueMonth[] }) {
  const m = months[months.length - 1];
  const g = m.growthPct === undefined ? null : Number(m.growthPct);
  return (
    <p data-testid="analytics-summary">
      {m.month}: MRR <strong>{usd(m.mrr)}</strong>
      {(m.byTier ?? []).length > 0 && ` (${(m.byTier ?? []).map((t) => `${t.tier} ${usd(t.mrr)} × ${t.accounts}`).join(", ")})`}, ARR{" "}
      <strong>{usd(m.arr)}</strong>, growth{" "}
      <strong data-testid="analytics-growth">{g === null ? "n/a (no previous month)" : `${g >= 0 ? "+" : "−"}${Math.abs(g).toFixed(1)}% MoM`}</strong>
    </p>
  );
}

// FR-048: MRR trend as a plain SVG line chart (no chart library: the
// dashboard's lightweight-charts is a price-series library).
function MrrTrend({ months }: { months: RevenueMonth[] }) {
  const W = 600,
    H = 160,
    P = 24;
  const max = Math.max(1, ...months.map((m) => Number(m.mrr)));
  const x = (i: number) => P + (i * (W - 2 * P)) / Math.max(1, months.length - 1);
  const y = (v: number) => H - P - (v * (H - 2 * P)) / max;
  const pts = months.map((m, i) => `${x(i).toFixed(1)},${y(Number(m.mrr)).toFixed(1)}`).join(" ");
  return (
    <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label="MRR trend" data-testid="analytics-mrr-chart">
      <polyline points={pts} fill="none" stroke="currentColor" stroke-width="2" />
      {months.map((m, i) => (
        <circle cx={x(i)} cy={y(Number(m.mrr))} r="3">
          <title>{`${m.month}: ${usd(m.mrr)}`}</title>
        </circle>
      ))}
      <text x={P} y={H - 4} font-size="10">{months[0].month}</text>
      <text x={W - P} y={H - 4} font-size="10" text-anchor="end">{months[months.length - 1].month}</text>
      <text x={P} y={12} font-size="10">{usd(String(max))}</text>
    </svg>
  );
}

// FR-047: the financial report of a quarter as CSV.
function ReportExport() {
  const now = new Date();
  const [quarter, setQuarter] = useState(`${now.getUTCFullYear()}Q${Math.floor(now.getUTCMonth() / 3) + 1}`);
  return (
    <p>
      Financial report for{" "}
      <input value={quarter} size={7} onInput={(e) => setQuarter((e.target as HTMLInputElement).value)} aria-label="Quarter, e.g. 2024Q1" />{" "}
      <a href={`/api/v1/admin/analytics/report?quarter=${encodeURIComponent(quarter)}`} download data-testid="analytics-export">
        Export → CSV
      </a>
    </p>
  );
}

// FR-045: retention at these month offsets.
const MILESTONES = [0, 1, 2, 3, 6, 12];

// A heatmap colour for a retention percentage: from pale to saturated.
const heat = (pct: number) => `hsla(140, 60%, 40%, ${(0.1 + (0.8 * pct) / 100).toFixed(2)})`;

function Cohorts() {
  const [rep, error] = useReport("/api/v1/admin/analytics/cohorts");
  const cells = rep?.cohorts ?? [];
  const cohorts = [...new Set(cells.map((c) => c.cohort))];
  const at = new Map(cells.map((c) => [`${c.cohort}/${c.offset}`, c]));
  return (
    <section class="card">
      <h2>Sign-up cohorts: paying retention</h2>
      <p class="muted">
        Traders of each month's sign-ups paying recurring revenue N months later (count and share; darker is higher). The CSV
        has every month. <Csv table="cohorts" />
      </p>
      {error && <p class="error">{error}</p>}
      {cohorts.length > 0 && (
        <div class="table-wrap">
          <table data-testid="analytics-cohorts">
            <thead>
              <tr>
                <th>Cohort</th>
                <th class="num">Size</th>
                {MILESTONES.map((i) => (
                  <th class="num">Month {i}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {cohorts.map((c) => (
                <tr key={c}>
                  <td>{c}</td>
                  <td class="num">{at.get(`${c}/0`)?.size ?? 0}</td>
                  {MILESTONES.map((i) => {
                    const cell = at.get(`${c}/${i}`);
                    if (!cell) return <td class="num muted">—</td>;
                    const pct = (100 * cell.retained) / cell.size;
                    return (
                      <td class="num" style={{ background: heat(pct) }} data-pct={pct.toFixed(1)}>
                        {cell.retained} ({pct.toFixed(1)}%)
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

// The paying traders of highest CLV (FR-046: average monthly revenue ×
// the plan's average retention months + the trade volume bonus).
function TraderLifetimeValue() {
  const [rep, setRep] = useState<TraderValues | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api
      .get<TraderValues>("/api/v1/admin/analytics/clv/traders?limit=20")
      .then(setRep)
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load the analytics."));
  }, []);
  return (
    <>
      <h3>Highest CLV traders</h3>
      <p class="muted">
        CLV = average monthly revenue × the plan's average retention months + trade volume bonus; a high value user
        has CLV ≥ {rep ? usd(rep.highValueClv) : "…"}. <Csv table="clv/traders" />
      </p>
      {error && <p class="error">{error}</p>}
      {rep && rep.traders.length > 0 && (
        <div class="table-wrap">
          <table data-testid="analytics-trader-clv">
            <thead>
              <tr>
                <th>Trader</th>
                <th>Plan</th>
                <th class="num">Avg. monthly revenue</th>
                <th class="num">Retention months</th>
                <th class="num">Volume bonus</th>
                <th class="num">CLV</th>
                <th></th>
              </tr>
            </thead>
            <tbody>
              {rep.traders.map((v) => (
                <tr key={v.userId}>
                  <td>{v.userId}</td>
                  <td>{v.tier}</td>
                  <td class="num">{usd(v.avgMrr)}</td>
                  <td class="num">{v.retentionMonths === null ? "no churn yet" : Number(v.retentionMonths).toFixed(1)}</td>
                  <td class="num">{usd(v.volumeBonus)}</td>
                  <td class="num">{v.clv === null ? "no churn yet" : usd(v.clv)}</td>
                  <td>{v.highValue ? "high value user" : ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function LifetimeValue() {
  const [rep, error] = useReport("/api/v1/admin/analytics/clv");
  return (
    <section class="card">
      <h2>Customer lifetime value</h2>
      <p class="muted">
        CLV = ARPA ÷ monthly churn rate (churned ÷ paying at the start of a month). <Csv table="clv" />
      </p>
      {error && <p class="error">{error}</p>}
      {rep?.clv && rep.clv.length > 0 && (
        <div class="table-wrap">
          <table data-testid="analytics-clv">
            <thead>
              <tr>
                <th>By</th>
                <th>Group</th>
                <th class="num">Account-months</th>
                <th class="num">Churned</th>
                <th class="num">Churn rate</th>
                <th class="num">ARPA</th>
                <th class="num">CLV</th>
              </tr>
            </thead>
            <tbody>
              {rep.clv.map((v) => (
                <tr key={`${v.kind}/${v.group}`}>
                  <td>{v.kind}</td>
                  <td>{v.group}</td>
                  <td class="num">{v.accountMonths}</td>
                  <td class="num">{v.churned}</td>
                  <td class="num">{v.atRisk > 0 ? `${((100 * v.churned) / v.atRisk).toFixed(1)}%` : ""}</td>
                  <td class="num">{usd(v.arpa)}</td>
                  <td class="num">{v.clv === null ? "no churn yet" : usd(v.clv)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <TraderLifetimeValue />
    </section>
  );
}

interface ChurnReason {
  feature: string;
  value: number;
  contribution: number;
}
interface ChurnScore {
  userId: string;
  email: string;
  plan: string;
  paying: boolean;
  score: number;
  highRisk: boolean;
  reasons: ChurnReason[];
  scoredAt: string;
  alertOpen: boolean;
}
interface ChurnReport {
  scores: ChurnScore[];
  alertThreshold: number;
  model: { version: number; algorithm: string; trainedOn: string; metrics: { precision: number; recall: number; f1: number } } | null;
}

// The nightly churn-scoring schedule's newest scores, riskiest first, with
// the features that raise each trader's risk most (issue 16, item 3).
function ChurnRisk() {
  const [rep, setRep] = useState<ChurnReport | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api
      .get<ChurnReport>("/api/v1/admin/analytics/churn?limit=200")
      .then(setRep)
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load the churn scores."));
  }, []);
  const m = rep?.model;
  return (
    <section class="card">
      <h2>Churn risk</h2>
      <p class="muted">
        {m
          ? `Model v${m.version} (${m.algorithm}, trained on ${m.trainedOn}): held-out precision ${m.metrics.precision.toFixed(2)}, recall ${m.metrics.recall.toFixed(2)}, F1 ${m.metrics.f1.toFixed(2)}. `
          : "No model yet: the nightly churn-scoring run trains the first one. "}
        {rep && `Paying traders scoring ${rep.alertThreshold} or more raise an alert. `}
        <a href="/api/v1/admin/analytics/churn?format=csv" download data-testid="analytics-csv-churn">
          Download CSV
        </a>
      </p>
      {error && <p class="error">{error}</p>}
      {rep && rep.scores.length === 0 && <p class="muted">No trader scored yet.</p>}
      {rep && rep.scores.length > 0 && <RiskHistogram scores={rep.scores.map((s) => s.score)} />}
      {rep && rep.scores.length > 0 && (
        <div class="table-wrap">
          <table data-testid="analytics-churn">
            <thead>
              <tr>
                <th>Trader</th>
                <th>Plan</th>
                <th class="num">Score</th>
                <th>Top reasons</th>
                <th class="hide-sm">Scored</th>
              </tr>
            </thead>
            <tbody>
              {rep.scores.map((s) => (
                <tr key={s.userId} class={s.highRisk && s.paying ? "error" : ""}>
                  <td>{s.email || s.userId}</td>
                  <td>{s.plan}</td>
                  <td class="num">
                    {s.score.toFixed(2)}
                    {s.alertOpen ? " (alert)" : ""}
                  </td>
                  <td>{s.reasons.map((r) => r.feature).join(", ")}</td>
                  <td class="hide-sm">{fmtTime(s.scoredAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

// FR-048: churn risk distribution of the scores listed (the riskiest 200),
// ten bins of 10 points, as plain SVG bars.
function RiskHistogram({ scores }: { scores: number[] }) {
  const bins = Array.from({ length: 10 }, () => 0);
  for (const v of scores) bins[Math.min(9, Math.max(0, Math.floor(v * 10)))]++;
  const max = Math.max(1, ...bins);
  const W = 600,
    H = 140,
    P = 20,
    bw = (W - 2 * P) / 10;
  return (
    <svg viewBox={`0 0 ${W} ${H}`} width="100%" role="img" aria-label="Churn risk distribution" data-testid="analytics-risk-histogram">
      {bins.map((n, i) => {
        const h = ((H - 2 * P) * n) / max;
        return (
          <g key={i}>
            <rect x={P + i * bw + 2} y={H - P - h} width={bw - 4} height={h} fill={i >= 7 ? "#c0392b" : "#7f8c8d"} data-count={n}>
              <title>{`${i * 10}–${i * 10 + 10}%: ${n}`}</title>
            </rect>
            <text x={P + i * bw + bw / 2} y={H - 6} font-size="10" text-anchor="middle">{`${i * 10}%`}</text>
          </g>
        );
      })}
    </svg>
  );
}

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type EntryStrategy, type LadderStop, type RiskSettings } from "../api";
import { toast } from "../store";

interface GuardState {
  connectionId: string;
  level: string;
  message?: string;
}

// Settings → Risk: max position %, daily loss limit, stop-loss %, extended
// hours opt-in (GET/PUT /api/v1/risk), and today's state of the account
// guard (locked, loss level per connection).
export function Risk() {
  const [s, setS] = useState<RiskSettings | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const [locked, setLocked] = useState(false);
  const [accounts, setAccounts] = useState<GuardState[]>([]);

  useEffect(() => {
    api
      .get<{ settings: RiskSettings; locked: boolean; accounts: GuardState[] }>("/api/v1/risk")
      .then((r) => {
        setS(r.settings);
        setLocked(r.locked);
        setAccounts(r.accounts ?? []);
      })
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load the risk settings."));
  }, []);

  async function save(e: Event) {
    e.preventDefault();
    if (!s) return;
    setBusy(true);
    setError("");
    try {
      const r = await api.put<{ settings: RiskSettings }>("/api/v1/risk", {
        maxPositionPct: s.maxPositionPct,
        dailyLossLimitPct: s.dailyLossLimitPct,
        stopLossPct: s.stopLossPct,
        extendedHours: s.extendedHours,
        allowReversal: s.allowReversal,
        maxAlertLagSeconds: Number(s.maxAlertLagSeconds),
        requireApproval: s.requireApproval,
        approvalTimeoutSeconds: Number(s.approvalTimeoutSeconds),
        ladderStop: s.ladderStop,
        breakevenOffsetPct: s.breakevenOffsetPct,
        trailAfterTarget: Number(s.trailAfterTarget),
        ladderTrailPct: s.ladderTrailPct,
        entryStrategy: s.entryStrategy,
      });
      setS(r.settings);
      toast("Risk settings saved.", "success");
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not save.");
    } finally {
      setBusy(false);
    }
  }

  const num = (k: keyof RiskSettings, label: string, hint: string) => (
    <label>
      {label}
      <input inputMode="decimal" required value={String(s?.[k] ?? "")} onInput={(e) => setS({ ...s!, [k]: e.currentTarget.value })} />
      <span class="muted small">{hint}</span>
    </label>
  );

  return (
    <section class="card narrow">
      <h2>Risk settings</h2>
      {error && <p class="error">{error}</p>}
      {locked && (
        <p class="error" role="alert">
          Trading is locked by the circuit breaker. An administrator must unlock the account.
        </p>
      )}
      {accounts
        .filter((a) => a.level !== "ok")
        .map((a) => (
          <p class="note">{a.message || `Loss level today: ${a.level}`}</p>
        ))}
      {s && (
        <form class="form" onSubmit={save}>
          {num("maxPositionPct", "Max position (% of equity)", "Automated orders are reduced to fit; manual orders above it are refused.")}
          {num("dailyLossLimitPct", "Daily loss limit (%)", "New trades stop for the day when equity falls this far.")}
          {num("stopLossPct", "Stop-loss (%)", "Placed at the broker after every entry fill.")}
          <label class="check">
            <input type="checkbox" checked={s.extendedHours} onChange={(e) => setS({ ...s, extendedHours: e.currentTarget.checked })} /> Trade in
            extended hours (4:00–20:00 ET)
          </label>
          <label class="check">
            <input type="checkbox" checked={s.allowReversal} onChange={(e) => setS({ ...s, allowReversal: e.currentTarget.checked })} /> Allow
            reversals: a buy while short (sell while long) closes the position, then enters the other side once the exit filled
          </label>
          <label class="check">
            <input type="checkbox" checked={s.requireApproval} onChange={(e) => setS({ ...s, requireApproval: e.currentTarget.checked })} /> Approve
            each signal before it is sent (webhooks and channels; your own dashboard orders are sent at once)
          </label>
          <label>
            Approval timeout (seconds)
            <input inputMode="numeric" required value={String(s.approvalTimeoutSeconds)} onInput={(e) => setS({ ...s, approvalTimeoutSeconds: Number(e.currentTarget.value) })} />
            <span class="muted small">A signal not approved in time is cancelled (30–86400).</span>
          </label>
          <label>
            Stop-loss after take-profit targets
            <select value={s.ladderStop} onChange={(e) => setS({ ...s, ladderStop: e.currentTarget.value as LadderStop })} data-testid="ladder-stop">
              <option value="none">Keep it where it is</option>
              <option value="breakeven">Move to breakeven after TP1</option>
              <option value="trail">Trail the price after a target</option>
            </select>
            <span class="muted small">For signals with several targets (TP1, TP2, …); a channel subscription can override it.</span>
          </label>
          {s.ladderStop === "breakeven" &&
            num("breakevenOffsetPct", "Breakeven offset (%)", "Above the entry for a long, below for a short; 0 is the entry price.")}
          {s.ladderStop === "trail" && (
            <>
              <label>
                Trail after target
                <input inputMode="numeric" required value={String(s.trailAfterTarget)} onInput={(e) => setS({ ...s, trailAfterTarget: Number(e.currentTarget.value) })} />
                <span class="muted small">k of TPk (1–9).</span>
              </label>
              {num("ladderTrailPct", "Trail distance (%)", "The stop follows the price at this distance.")}
            </>
          )}
          <label>
            Entry strategy
            <select value={s.entryStrategy} onChange={(e) => setS({ ...s, entryStrategy: e.currentTarget.value as EntryStrategy })} data-testid="entry-strategy">
              <option value="even">Even: equal shares</option>
              <option value="decreasing">Decreasing: the first entry largest</option>
              <option value="increasing">Increasing: the last entry largest</option>
            </select>
            <span class="muted small">For signals with several entry prices: one limit order per entry, sharing your position this way.</span>
          </label>
          <label>
            Stale alert limit (seconds)
            <input inputMode="numeric" required value={String(s.maxAlertLagSeconds)} onInput={(e) => setS({ ...s, maxAlertLagSeconds: Number(e.currentTarget.value) })} />
            <span class="muted small">A webhook alert whose time is older is refused (5–600).</span>
          </label>
          <button class="primary" type="submit" disabled={busy}>
            Save
          </button>
        </form>
      )}
    </section>
  );
}

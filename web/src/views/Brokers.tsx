import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type CatalogEntry, type Connection } from "../api";
import { fmtMoney } from "../format";
import { toast, useStore } from "../store";

// Settings → Brokers: connections, a connect form per broker built from the
// catalog's fields, IB Gateway instructions and the default broker per
// asset class.
export function Brokers() {
  const [conns, setConns] = useState<Connection[]>([]);
  const [catalog, setCatalog] = useState<CatalogEntry[]>([]);
  const [error, setError] = useState("");
  const role = useStore((s) => s.user?.role);

  async function load() {
    try {
      const [c, cat] = await Promise.all([
        api.get<{ connections: Connection[] }>("/api/v1/brokers"),
        api.get<{ brokers: CatalogEntry[] }>("/api/v1/brokers/catalog"),
      ]);
      setConns(c.connections);
      setCatalog(cat.brokers);
      setError("");
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "Could not load brokers.");
    }
  }
  useEffect(() => void load(), []);

  const active = conns.filter((c) => c.active);
  return (
    <div class="grid">
      <section class="card span2">
        <h2>Broker connections</h2>
        {error && <p class="error">{error}</p>}
        {conns.length === 0 && !error && <p class="muted">No broker connected yet.</p>}
        <ul class="connections">
          {conns.map((c) => (
            <li key={c.id}>
              <div>
                <strong>{c.label || c.brokerName}</strong> <span class="muted">{c.brokerName}{c.paper ? " · paper" : ""}</span>
                {c.defaultFor.map((d) => (
                  <span class="pill filled">default for {d}</span>
                ))}
              </div>
              <div class="muted small">
                <span class={`pill ${c.status}`}>{c.status}</span> {c.statusMessage}
                {c.accountValue && ` · account value ${fmtMoney(c.accountValue)}`}
              </div>
              {c.active && role === "trader" && (
                <button class="danger small" onClick={() => disconnect(c, load)}>
                  Disconnect
                </button>
              )}
            </li>
          ))}
        </ul>
      </section>
      {role === "trader" && <Defaults conns={active} reload={load} />}
      {role === "trader" && <ConnectForm catalog={catalog} reload={load} />}
    </div>
  );
}

async function disconnect(c: Connection, reload: () => Promise<void>) {
  if (!confirm(`Disconnect ${c.label || c.brokerName}? Its keys are erased.`)) return;
  try {
    const r = await api.del<{ message: string }>(`/api/v1/brokers/${c.id}`);
    toast(r.message || "Disconnected.");
    await reload();
  } catch (e) {
    toast(e instanceof ApiError ? e.message : "Could not disconnect.", "error");
  }
}

function Defaults({ conns, reload }: { conns: Connection[]; reload: () => Promise<void> }) {
  const current = (cls: string) => conns.find((c) => c.defaultFor.includes(cls))?.id ?? "";
  async function set(cls: "stocks" | "crypto", id: string) {
    try {
      await api.put("/api/v1/brokers/defaults", { [cls]: id || null });
      toast(`Default broker for ${cls} saved.`, "success");
      await reload();
    } catch (e) {
      toast(e instanceof ApiError ? e.message : "Could not save.", "error");
    }
  }
  return (
    <section class="card">
      <h2>Default broker per asset class</h2>
      <p class="muted small">Signals go to this broker unless they name one.</p>
      {(["stocks", "crypto"] as const).map((cls) => (
        <label>
          {cls === "stocks" ? "Stocks" : "Crypto"}
          <select value={current(cls)} onChange={(e) => set(cls, e.currentTarget.value)}>
            <option value="">None</option>
            {conns.map((c) => (
              <option value={c.id}>{c.label || c.brokerName}</option>
            ))}
          </select>
        </label>
      ))}
    </section>
  );
}

function ConnectForm({ catalog, reload }: { catalog: CatalogEntry[]; reload: () => Promise<void> }) {
  const [broker, setBroker] = useState("");
  const [label, setLabel] = useState("");
  const [paper, setPaper] = useState(true);
  const [values, setValues] = useState<Record<string, string>>({});
  const [ibkr, setIbkr] = useState("");
  const [busy, setBusy] = useState(false);
  const [msg, setMsg] = useState<{ text: string; ok: boolean } | null>(null);
  const entry = catalog.find((b) => b.broker === broker);

  useEffect(() => {
    setValues({});
    setMsg(null);
    if (broker === "ibkr") {
      api
        .get<{ instructions: string }>("/api/v1/brokers/ibkr/setup")
        .then((r) => setIbkr(r.instructions))
        .catch(() => setIbkr(""));
    }
  }, [broker]);

  async function submit(e: Event) {
    e.preventDefault();
    if (!entry) return;
    setBusy(true);
    setMsg(null);
    try {
      const r = await api.post<{ message: string }>("/api/v1/brokers", { broker, label, paper, credentials: values });
      setMsg({ text: r.message, ok: true });
      setValues({});
      await reload();
    } catch (err) {
      setMsg({ text: err instanceof ApiError ? err.message : "Could not reach the server.", ok: false });
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="card">
      <h2>Connect a broker</h2>
      <form class="form" onSubmit={submit}>
        <label>
          Broker
          <select value={broker} onChange={(e) => setBroker(e.currentTarget.value)} required>
            <option value="">Choose…</option>
            {catalog.map((b) => (
              <option value={b.broker}>{b.name}</option>
            ))}
          </select>
        </label>
        {broker === "ibkr" && ibkr && (
          <div class="note">
            <strong>Before connecting Interactive Brokers</strong>
            <p>{ibkr}</p>
          </div>
        )}
        {entry?.oauth ? (
          <a class="button primary" href="/api/v1/brokers/schwab/authorize">
            Continue to {entry.name} sign-in
          </a>
        ) : (
          entry && (
            <>
              <label>
                Label
                <input value={label} placeholder={entry.name} onInput={(e) => setLabel(e.currentTarget.value)} />
              </label>
              {entry.fields.map((f) => (
                <label>
                  {f.label}
                  {f.required ? "" : " (optional)"}
                  {f.secret ? (
                    <input
                      name={f.name}
                      type="password"
                      autocomplete="off"
                      required={f.required}
                      value={values[f.name] ?? ""}
                      onInput={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}
                    />
                  ) : (
                    <input
                      name={f.name}
                      type="text"
                      autocomplete="off"
                      required={f.required}
                      value={values[f.name] ?? ""}
                      onInput={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })}
                    />
                  )}
                </label>
              ))}
              <label class="check">
                <input type="checkbox" checked={paper} onChange={(e) => setPaper(e.currentTarget.checked)} /> Paper trading account
              </label>
              <button class="primary" type="submit" disabled={busy}>
                {busy ? "Checking the keys…" : `Connect ${entry.name}`}
              </button>
            </>
          )
        )}
        {msg && <p class={msg.ok ? "ok" : "error"}>{msg.text}</p>}
      </form>
    </section>
  );
}

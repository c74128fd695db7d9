import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type LadderStop } from "../api";
import { fmtTime } from "../format";
import { toast, useStore } from "../store";

// Settings → Signal sources: the TradingView webhook URL (shown once when
// created, with a copy button), an alert-message template, and the Discord
// sources followed.
const TEMPLATE = `{
  "ticker": "{{ticker}}",
  "action": "{{strategy.order.action}}",
  "quantity": "{{strategy.order.contracts}}",
  "type": "market",
  "price": "{{close}}",
  "id": "{{strategy.order.id}}-{{timenow}}"
}`;

interface Source {
  id: string;
  name: string;
  status: string;
  followers: number;
  owned: boolean;
}

interface Subscription {
  id: string;
  sourceId: string;
  /** Overrides the trader's stop move after a ladder's target; null follows it. */
  ladderStop: LadderStop | null;
}

async function copy(text: string) {
  try {
    await navigator.clipboard.writeText(text);
    toast("Copied to the clipboard.", "success");
  } catch {
    toast("Copy failed: select the text and copy it.", "error");
  }
}

export function Signals() {
  return (
    <div class="grid">
      <Webhook />
      <section class="card">
        <h2>TradingView alert message</h2>
        <p class="muted small">Paste into the alert's Message box. The id makes a repeated delivery one trade.</p>
        <pre class="code" data-testid="tv-template">{TEMPLATE}</pre>
        <button class="secondary" onClick={() => copy(TEMPLATE)}>
          Copy template
        </button>
      </section>
      <DiscordSources />
    </div>
  );
}

function Webhook() {
  const base = useStore((s) => s.config?.webhookBase ?? "");
  const [info, setInfo] = useState<{ configured: boolean; createdAt?: string; passphrase?: boolean } | null>(null);
  const [url, setUrl] = useState("");
  const [passphrase, setPassphrase] = useState("");
  const [error, setError] = useState("");

  useEffect(() => {
    api
      .get<{ configured: boolean; createdAt?: string; passphrase?: boolean }>("/api/v1/webhook")
      .then(setInfo)
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load."));
  }, []);

  async function create(e: Event) {
    e.preventDefault();
    if (info?.configured && !confirm("Create a new URL? The current one stops working.")) return;
    try {
      const r = await api.post<{ url: string; createdAt: string; passphrase: boolean }>("/api/v1/webhook", passphrase ? { passphrase } : {});
      setUrl(r.url);
      setInfo({ configured: true, createdAt: r.createdAt, passphrase: r.passphrase });
      setPassphrase("");
      setError("");
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not create the URL.");
    }
  }

  return (
    <section class="card span2">
      <h2>TradingView webhook</h2>
      {error && <p class="error">{error}</p>}
      {url ? (
        <>
          <p class="muted small">Copy it now: for your safety it is not shown again.</p>
          <div class="copy-row">
            <input readOnly value={url} data-testid="webhook-url" onFocus={(e) => e.currentTarget.select()} />
            <button class="primary" onClick={() => copy(url)}>
              Copy
            </button>
          </div>
        </>
      ) : (
        <p class="muted">
          {info?.configured
            ? `Your webhook URL was created ${fmtTime(info.createdAt)}${info.passphrase ? " with a passphrase" : ""}. It starts with ${base}.`
            : "You have no webhook URL yet."}
        </p>
      )}
      <form class="form inline" onSubmit={create}>
        <label>
          Passphrase (optional)
          <input type="password" autocomplete="new-password" value={passphrase} onInput={(e) => setPassphrase(e.currentTarget.value)} />
        </label>
        <button class="secondary" type="submit">
          {info?.configured ? "Create a new URL" : "Create webhook URL"}
        </button>
      </form>
    </section>
  );
}

function DiscordSources() {
  const [sources, setSources] = useState<Source[]>([]);
  const [subs, setSubs] = useState<Subscription[]>([]);
  const [error, setError] = useState("");
  async function load() {
    try {
      const [s, sub] = await Promise.all([
        api.get<{ sources: Source[] }>("/api/v1/sources"),
        api.get<{ subscriptions: Subscription[] }>("/api/v1/subscriptions"),
      ]);
      setSources(s.sources ?? []);
      setSubs(sub.subscriptions ?? []);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : "Could not load the Discord sources.");
    }
  }
  useEffect(() => void load(), []);
  async function toggle(src: Source) {
    const sub = subs.find((x) => x.sourceId === src.id);
    try {
      if (sub) await api.del(`/api/v1/subscriptions/${sub.id}`);
      else await api.post("/api/v1/subscriptions", { sourceId: src.id });
      await load();
    } catch (e) {
      toast(e instanceof ApiError ? e.message : "Could not change the subscription.", "error");
    }
  }
  async function setLadderStop(sub: Subscription, value: string) {
    try {
      await api.patch(`/api/v1/subscriptions/${sub.id}`, { ladderStop: value === "" ? null : value });
      await load();
      toast("Saved.", "success");
    } catch (e) {
      toast(e instanceof ApiError ? e.message : "Could not change the subscription.", "error");
    }
  }
  return (
    <section class="card">
      <h2>Discord signal sources</h2>
      {error && <p class="error">{error}</p>}
      {sources.length === 0 && !error && <p class="muted">No Discord source yet. Register a channel with /tradeexec register in Discord.</p>}
      <ul class="connections">
        {sources.map((s) => {
          const sub = subs.find((x) => x.sourceId === s.id);
          const following = !!sub;
          return (
            <li key={s.id}>
              <div>
                <strong>{s.name}</strong> <span class="muted small">{s.followers} followers · {s.status}</span>
              </div>
              {sub && (
                <label class="small">
                  Stop after targets{" "}
                  <select value={sub.ladderStop ?? ""} onChange={(e) => setLadderStop(sub, e.currentTarget.value)} data-testid="sub-ladder-stop">
                    <option value="">My risk setting</option>
                    <option value="none">Keep it</option>
                    <option value="breakeven">Breakeven after TP1</option>
                    <option value="trail">Trail after TPk</option>
                  </select>
                </label>
              )}
              <button class={following ? "secondary small" : "primary small"} onClick={() => toggle(s)}>
                {following ? "Unfollow" : "Follow"}
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { fmtTime } from "../format";
import { toast } from "../store";

// Copy trading (issue 17): the trader's leader settings, the public
// leaders to follow, the leaders followed (pause, resume, unfollow) and
// what was copied or skipped, with the reason.

interface Settings {
  allowCopy: boolean;
  visibility: "public" | "followers" | "private";
  displayName: string;
}

interface Leader {
  id: string;
  displayName: string;
  followers: number;
  following: boolean;
}

interface Follow {
  id: string;
  leaderId: string;
  leaderName: string;
  sizingMode: string;
  multiplier: string;
  fixedAmount: string;
  maxPosition: string;
  lossLimit: string;
  status: string;
  statusReason?: string;
  copyPnl: string;
  positions: { symbol: string; quantity: string }[];
}

interface Activity {
  leaderName: string;
  symbol: string;
  side: string;
  quantity: string;
  status: string;
  reason?: string;
  text?: string; // "Copy Trade: NVDA +1 share (5% allocation)"
  at: string;
}

interface FollowRequest {
  id: string;
  followerId: string;
  displayName: string;
  requestedAt: string;
}

function message(e: unknown): string {
  return e instanceof ApiError ? e.message : "Something went wrong.";
}

export function Copy() {
  const [tick, setTick] = useState(0);
  const refresh = () => setTick((n) => n + 1);
  return (
    <div class="grid">
      <LeaderSettings />
      <FindLeaders tick={tick} onFollow={refresh} />
      <FollowRequests tick={tick} onChange={refresh} />
      <MyFollows tick={tick} onChange={refresh} />
      <CopyActivity tick={tick} />
    </div>
  );
}

function LeaderSettings() {
  const [s, setS] = useState<Settings | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api
      .get<{ settings: Settings }>("/api/v1/copy/settings")
      .then((r) => setS(r.settings))
      .catch((e) => setError(message(e)));
  }, []);
  async function save(e: Event) {
    e.preventDefault();
    if (!s) return;
    try {
      const r = await api.put<{ settings: Settings }>("/api/v1/copy/settings", s);
      setS(r.settings);
      toast("Copy trading settings saved.", "success");
    } catch (err) {
      toast(message(err), "error");
    }
  }
  return (
    <section class="card" data-testid="copy-settings">
      <h2>Your leader profile</h2>
      {error && <p class="error">{error}</p>}
      {s && (
        <form onSubmit={save}>
          <label>
            <input type="checkbox" name="allowCopy" checked={s.allowCopy} onChange={(e) => setS({ ...s, allowCopy: (e.target as HTMLInputElement).checked })} />{" "}
            Allow copy trading
          </label>
          <label>
            Profile visibility
            <select name="visibility" value={s.visibility} onChange={(e) => setS({ ...s, visibility: (e.target as HTMLSelectElement).value as Settings["visibility"] })}>
              <option value="public">Public (listed in search)</option>
              <option value="followers">Followers only</option>
              <option value="private">Private</option>
            </select>
          </label>
          <label>
            Display name
            <input name="displayName" value={s.displayName} maxLength={100} onInput={(e) => setS({ ...s, displayName: (e.target as HTMLInputElement).value })} />
          </label>
          <button type="submit">Save</button>
        </form>
      )}
    </section>
  );
}

function FindLeaders({ tick, onFollow }: { tick: number; onFollow: () => void }) {
  const [q, setQ] = useState("");
  const [leaders, setLeaders] = useState<Leader[]>([]);
  const [mode, setMode] = useState("proportional");
  const [amount, setAmount] = useState("");
  const [lossLimit, setLossLimit] = useState("");
  const [maxPosition, setMaxPosition] = useState("");
  function search() {
    api
      .get<{ leaders: Leader[] }>("/api/v1/copy/leaders?q=" + encodeURIComponent(q))
      .then((r) => setLeaders(r.leaders))
      .catch((e) => toast(message(e), "error"));
  }
  useEffect(search, [tick]);
  async function follow(l: Leader) {
    const body: Record<string, string> = { leaderId: l.id, sizingMode: mode };
    if (mode === "multiplier") body.multiplier = amount;
    if (mode === "fixed_amount") body.fixedAmount = amount;
    if (lossLimit) body.lossLimit = lossLimit;
    if (maxPosition) body.maxPosition = maxPosition;
    try {
      await api.post("/api/v1/copy/follows", body);
      toast(`Following ${l.displayName}.`, "success");
      onFollow();
    } catch (e) {
      toast(message(e), "error");
    }
  }
  return (
    <section class="card" data-testid="copy-leaders">
      <h2>Find a leader</h2>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          search();
        }}
      >
        <input placeholder="Name" value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} />
        <button type="submit" class="secondary">
          Search
        </button>
      </form>
      <div class="row">
        <label>
          Sizing
          <select value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value)}>
            <option value="proportional">Proportional to my equity</option>
            <option value="multiplier">Multiplier of the leader's quantity</option>
            <option value="fixed_amount">Fixed amount per entry ($)</option>
          </select>
        </label>
        {mode !== "proportional" && (
          <label>
            {mode === "multiplier" ? "Multiplier" : "Amount ($)"}
            <input value={amount} onInput={(e) => setAmount((e.target as HTMLInputElement).value)} />
          </label>
        )}
        <label>
          Max position ($, optional)
          <input value={maxPosition} onInput={(e) => setMaxPosition((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Copy loss limit ($, optional)
          <input value={lossLimit} onInput={(e) => setLossLimit((e.target as HTMLInputElement).value)} />
        </label>
      </div>
      {leaders.length === 0 ? (
        <p class="muted">No public leader found.</p>
      ) : (
        <table>
          <tbody>
            {leaders.map((l) => (
              <tr key={l.id}>
                <td>{l.displayName}</td>
                <td class="muted">{l.followers} followers</td>
                <td>
                  {l.following ? (
                    <span class="muted">Following</span>
                  ) : (
                    <button class="secondary" data-testid="copy-follow" onClick={() => follow(l)}>
                      Copy
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function MyFollows({ tick, onChange }: { tick: number; onChange: () => void }) {
  const [follows, setFollows] = useState<Follow[]>([]);
  useEffect(() => {
    api
      .get<{ follows: Follow[] }>("/api/v1/copy/follows")
      .then((r) => setFollows(r.follows.filter((f) => f.status !== "stopped")))
      .catch((e) => toast(message(e), "error"));
  }, [tick]);
  async function act(f: Follow, what: "pause" | "resume" | "unfollow") {
    try {
      if (what === "unfollow") {
        if (!confirm(`Stop copying ${f.leaderName}?`)) return;
        // Default: the copied positions stay open as your own.
        const close =
          f.positions.length > 0 &&
          confirm("Also close the copied positions at market? (Cancel keeps them open as your own.)");
        await api.del(`/api/v1/copy/follows/${f.id}?closePositions=${close}`);
      } else {
        await api.patch(`/api/v1/copy/follows/${f.id}`, { status: what === "pause" ? "paused" : "active" });
      }
      onChange();
    } catch (e) {
      toast(message(e), "error");
    }
  }
  return (
    <section class="card" data-testid="copy-follows">
      <h2>Leaders you copy</h2>
      {follows.length === 0 && <p class="muted">You copy nobody yet.</p>}
      {follows.map((f) => (
        <div key={f.id} class="row">
          <strong>{f.leaderName}</strong> <span class="muted">{f.sizingMode.replace("_", " ")}</span> <span>{f.status}</span>{" "}
          <span class="muted">copy P&amp;L ${f.copyPnl}</span>
          {f.positions.map((p) => (
            <span key={p.symbol} class="muted">
              {" "}
              {p.symbol} {p.quantity}
            </span>
          ))}
          {f.statusReason && <p class="small">{f.statusReason}</p>}
          {f.status === "pending" || f.status === "denied" ? null : f.status === "active" ? (
            <button class="secondary" onClick={() => act(f, "pause")}>
              Pause
            </button>
          ) : (
            <button class="secondary" onClick={() => act(f, "resume")}>
              Resume
            </button>
          )}
          <button class="secondary" onClick={() => act(f, "unfollow")}>
            Unfollow
          </button>
        </div>
      ))}
    </section>
  );
}

function CopyActivity({ tick }: { tick: number }) {
  const [rows, setRows] = useState<Activity[]>([]);
  useEffect(() => {
    api
      .get<{ activity: Activity[] }>("/api/v1/copy/activity")
      .then((r) => setRows(r.activity))
      .catch((e) => toast(message(e), "error"));
  }, [tick]);
  return (
    <section class="card" data-testid="copy-activity">
      <h2>Copy activity</h2>
      {rows.length === 0 && <p class="muted">Nothing copied yet.</p>}
      <table>
        <tbody>
          {rows.map((r, i) => (
            <tr key={i}>
              <td class="muted">{fmtTime(r.at)}</td>
              <td>{r.leaderName}</td>
              <td>
                {r.symbol} {r.side} {r.status === "skipped" ? "" : r.quantity}
              </td>
              <td>
                {r.status === "skipped" ? (
                  <span class="error">Skipped: {r.reason}</span>
                ) : (
                  <>
                    {r.text ?? r.status}
                    {r.reason && <p class="small">{r.reason}</p>}
                  </>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

// A followers-only leader's follow requests, to approve or deny.
function FollowRequests({ tick, onChange }: { tick: number; onChange: () => void }) {
  const [rows, setRows] = useState<FollowRequest[]>([]);
  useEffect(() => {
    api
      .get<{ requests: FollowRequest[] }>("/api/v1/copy/requests")
      .then((r) => setRows(r.requests))
      .catch((e) => toast(message(e), "error"));
  }, [tick]);
  async function decide(r: FollowRequest, what: "approve" | "deny") {
    try {
      await api.post(`/api/v1/copy/requests/${r.id}/${what}`, {});
      onChange();
    } catch (e) {
      toast(message(e), "error");
    }
  }
  if (rows.length === 0) return null;
  return (
    <section class="card" data-testid="copy-requests">
      <h2>Follow requests</h2>
      {rows.map((r) => (
        <div key={r.id} class="row">
          <strong>{r.displayName}</strong> <span class="muted">{fmtTime(r.requestedAt)}</span>{" "}
          <button onClick={() => decide(r, "approve")}>Approve</button>
          <button class="secondary" onClick={() => decide(r, "deny")}>
            Deny
          </button>
        </div>
      ))}
    </section>
  );
}

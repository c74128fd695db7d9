import { useEffect, useState } from "preact/hooks";
import { api, ApiError, type AuditEntry, type ComplianceReport } from "../api";
import { fmtTime } from "../format";
import { useStore } from "../store";

// The audit log for administrators (FR-057): filters, cursor paging,
// streamed CSV/JSON export, and the monthly compliance reports (FR-060).
// Hidden from other roles, and the API refuses them (403) anyway.

interface Filters {
  user_id: string;
  action: string;
  resource_type: string;
  status: string;
  from: string; // datetime-local, read as UTC
  to: string;
  limit: string;
}

const EMPTY: Filters = { user_id: "", action: "", resource_type: "", status: "", from: "", to: "", limit: "50" };

// A datetime-local value ("2026-11-01T00:00") is taken as UTC: audit
// timestamps are UTC and so are the report's months.
function utc(v: string): string {
  return v ? `${v.length === 16 ? v + ":00" : v}Z` : "";
}

export function query(f: Filters, cursor = ""): URLSearchParams {
  const q = new URLSearchParams();
  for (const k of ["user_id", "action", "resource_type", "status"] as const) if (f[k].trim()) q.set(k, f[k].trim());
  if (f.from) q.set("from", utc(f.from));
  if (f.to) q.set("to", utc(f.to));
  if (cursor) q.set("cursor", cursor);
  return q;
}

export function Audit() {
  const user = useStore((s) => s.user);
  if (user?.role !== "admin") {
    return (
      <section class="card" data-testid="audit-refused">
        <h2>Audit log</h2>
        <p class="error">The audit log is for administrators.</p>
      </section>
    );
  }
  return (
    <>
      <AuditLog />
      <Reports />
    </>
  );
}

function AuditLog() {
  const [form, setForm] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [cursors, setCursors] = useState<string[]>([""]); // cursor of each page seen
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [actions, setActions] = useState<string[]>([]);
  const [error, setError] = useState("");

  useEffect(() => {
    api
      .get<{ actions: string[] }>("/api/v1/admin/audit/actions")
      .then((r) => setActions(r.actions))
      .catch(() => undefined);
  }, []);

  const page = cursors[cursors.length - 1];
  useEffect(() => {
    let cancelled = false;
    const q = query(applied, page);
    q.set("limit", applied.limit);
    api
      .get<{ entries: AuditEntry[]; nextCursor: string | null }>(`/api/v1/admin/audit?${q}`)
      .then((r) => {
        if (cancelled) return;
        setEntries(r.entries);
        setNext(r.nextCursor);
        setError("");
      })
      .catch((e) => {
        if (cancelled) return;
        setEntries([]);
        setNext(null);
        setError(e instanceof ApiError ? e.message : "Could not load the audit log.");
      });
    return () => {
      cancelled = true;
    };
  }, [applied, page]);

  const set = (k: keyof Filters) => (e: Event) => {
    const v = (e.currentTarget as HTMLInputElement).value;
    setForm((f) => ({ ...f, [k]: v })); // several inputs may change before a render
  };
  const apply = (e: Event) => {
    e.preventDefault();
    setApplied({ ...form });
    setCursors([""]);
  };
  const exportURL = (format: string) => {
    const q = query(applied);
    q.set("format", format);
    return `/api/v1/admin/audit/export?${q}`;
  };

  return (
    <section class="card">
      <h2>Audit log</h2>
      <form class="filters" onSubmit={apply} data-testid="audit-filters">
        <label>
          User id
          <input name="user_id" value={form.user_id} placeholder="Any" onInput={set("user_id")} />
        </label>
        <label>
          Action
          <input name="action" list="audit-actions" value={form.action} placeholder="Any" onInput={set("action")} />
          <datalist id="audit-actions">
            {actions.map((a) => (
              <option value={a} />
            ))}
          </datalist>
        </label>
        <label>
          Resource type
          <input name="resource_type" value={form.resource_type} placeholder="Any" onInput={set("resource_type")} />
        </label>
        <label>
          Status
          <select name="status" value={form.status} onChange={set("status")}>
            <option value="">Any</option>
            <option value="success">Success</option>
            <option value="failure">Failure</option>
          </select>
        </label>
        <label>
          From (UTC)
          <input name="from" type="datetime-local" step="1" value={form.from} onInput={set("from")} />
        </label>
        <label>
          To (UTC)
          <input name="to" type="datetime-local" step="1" value={form.to} onInput={set("to")} />
        </label>
        <label>
          Per page
          <select name="limit" value={form.limit} onChange={set("limit")}>
            {["25", "50", "100", "500"].map((n) => (
              <option value={n}>{n}</option>
            ))}
          </select>
        </label>
        <button type="submit" data-testid="audit-apply">
          Apply
        </button>
      </form>
      <div class="filters">
        <a class="button" href={exportURL("csv")} download data-testid="audit-export-csv">
          Export CSV
        </a>
        <a class="button" href={exportURL("json")} download data-testid="audit-export-json">
          Export JSON
        </a>
      </div>
      {error && (
        <p class="error" role="alert" data-testid="audit-error">
          {error}
        </p>
      )}
      {entries === null ? (
        <p class="muted">Loading…</p>
      ) : entries.length === 0 ? (
        <p class="muted">No entries match.</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="audit-entries">
            <thead>
              <tr>
                <th>Time (UTC)</th>
                <th>User</th>
                <th>Action</th>
                <th class="hide-sm">Resource</th>
                <th>Status</th>
                <th class="hide-sm">IP</th>
                <th class="hide-sm">Details</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => (
                <tr key={e.id} data-entry-id={e.id} data-action={e.action}>
                  <td title={e.timestamp}>{fmtTime(e.timestamp)}</td>
                  <td title={e.userId}>{e.userId.length > 12 ? e.userId.slice(0, 8) + "…" : e.userId}</td>
                  <td>{e.action}</td>
                  <td class="hide-sm">{[e.resourceType, e.resourceId].filter(Boolean).join(" ")}</td>
                  <td>
                    <span class={`pill ${e.status === "failure" ? "rejected" : "filled"}`}>{e.status}</span>
                  </td>
                  <td class="hide-sm">{e.ipAddress ?? ""}</td>
                  <td class="hide-sm">
                    <code>{e.errorMessage ? e.errorMessage + " " : ""}{e.details ? JSON.stringify(e.details) : ""}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="filters">
        <button class="small" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))} data-testid="audit-prev">
          Previous
        </button>
        <span class="muted" data-testid="audit-page">
          Page {cursors.length}
        </span>
        <button class="small" disabled={!next} onClick={() => next && setCursors([...cursors, next])} data-testid="audit-next">
          Next
        </button>
      </div>
    </section>
  );
}

function Reports() {
  const [reports, setReports] = useState<ComplianceReport[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api
      .get<{ reports: ComplianceReport[] }>("/api/v1/admin/compliance-reports")
      .then((r) => setReports(r.reports))
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load the reports."));
  }, []);
  return (
    <section class="card">
      <h2>Compliance reports</h2>
      <p class="muted">Generated on the 1st of every month for the month before (UTC).</p>
      {error && <p class="error">{error}</p>}
      {reports && reports.length === 0 && <p class="muted">No report yet.</p>}
      {reports && reports.length > 0 && (
        <table data-testid="compliance-reports">
          <thead>
            <tr>
              <th>Month</th>
              <th class="num">Entries</th>
              <th class="num">Failed logins</th>
              <th class="num">Alerts</th>
              <th>Chains</th>
              <th>Download</th>
            </tr>
          </thead>
          <tbody>
            {reports.map((r) => (
              <tr key={r.id} data-period={r.period}>
                <td>{r.period}</td>
                <td class="num">{r.totalEntries}</td>
                <td class="num">{r.failedLogins}</td>
                <td class="num">{r.securityAlerts}</td>
                <td class={r.chainsFailed > 0 ? "neg" : ""}>
                  {r.chainsFailed > 0 ? `${r.chainsFailed} of ${r.chainsChecked} FAILED` : `${r.chainsChecked} verified`}
                </td>
                <td>
                  <a href={`/api/v1/admin/compliance-reports/${r.id}?format=html`} download>
                    HTML
                  </a>{" "}
                  <a href={`/api/v1/admin/compliance-reports/${r.id}?format=csv`} download>
                    CSV
                  </a>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

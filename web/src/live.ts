// The live connection: a WebSocket to /ws opened with a single-use ticket
// (POST /api/v1/ws-ticket, so no token in the URL), resumed after a drop
// with the last event seq (?lastSeq=N), reconnecting with exponential
// backoff (1 s, 2 s, 4 s, 8 s, 16 s, then 30 s; FR-036), renewed before the
// access token expires (token.expiring → /auth/refresh → connection.reauth).

import { api, refreshSession } from "./api";

export interface Frame {
  type: string;
  seq?: number;
  at: string;
  data?: any;
  events?: Frame[];
}

export type LiveStatus = "connecting" | "live" | "reconnecting" | "offline" | "signed-out";

export interface LiveHandlers {
  /** An outbox event or state.sync, in seq order. */
  onEvent(frame: Frame): void;
  onStatus(status: LiveStatus, detail?: string): void;
  /** The socket came back after a drop (the reconnect banner). */
  onReconnected(): void;
  /** The session is over: show the sign-in page. */
  onSignedOut(reason: string): void;
}

const BACKOFF = [1000, 2000, 4000, 8000, 16000, 30000];

// Close codes of the server (internal/realtime/protocol.go).
const CLOSE_SESSION_EXPIRED = 4001;
const CLOSE_SIGNED_OUT = 4003;
const CLOSE_REAUTH_FAILED = 4008;

export class Live {
  private ws: WebSocket | null = null;
  private lastSeq: number | null = null;
  private attempt = 0;
  private timer: number | undefined;
  private stopped = false;
  private suspended = false;
  private dropped = false;

  constructor(private readonly h: LiveHandlers) {}

  /** The last event seq applied (null before the first state.sync). */
  get seq(): number | null {
    return this.lastSeq;
  }

  start(): void {
    this.stopped = false;
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    window.clearTimeout(this.timer);
    this.ws?.close(1000, "bye");
    this.ws = null;
  }

  /** Drops the socket and stays offline until resume() (tests, diagnostics). */
  suspend(): void {
    this.suspended = true;
    window.clearTimeout(this.timer);
    this.ws?.close(1000, "suspended");
  }

  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    this.attempt = 0;
    void this.open();
  }

  private async open(): Promise<void> {
    if (this.stopped || this.suspended) return;
    this.h.onStatus(this.dropped ? "reconnecting" : "connecting");
    let ticket: string;
    try {
      ({ ticket } = await api.post<{ ticket: string }>("/api/v1/ws-ticket"));
    } catch (e: any) {
      if (e?.status === 401) {
        this.stopped = true;
        this.h.onSignedOut("Your session has ended. Sign in again.");
        return;
      }
      this.retry();
      return;
    }
    if (this.stopped || this.suspended) return;
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    const resume = this.lastSeq === null ? "" : `&lastSeq=${this.lastSeq}`;
    const ws = new WebSocket(`${proto}//${location.host}/ws?ticket=${encodeURIComponent(ticket)}${resume}`);
    this.ws = ws;
    ws.onmessage = (m) => this.onMessage(m.data);
    ws.onclose = (ev) => this.onClose(ws, ev);
  }

  private onMessage(raw: string): void {
    let f: Frame;
    try {
      f = JSON.parse(raw);
    } catch {
      return;
    }
    switch (f.type) {
      case "connection.authorized":
        this.attempt = 0;
        this.h.onStatus("live");
        if (this.dropped) {
          this.dropped = false;
          this.h.onReconnected();
        }
        return;
      case "token.expiring":
        void this.reauth();
        return;
      case "connection.reauthorized":
      case "pong":
        return;
      case "connection.error":
        console.warn("live connection:", f.data?.message);
        return;
      case "batch":
        for (const e of f.events ?? []) this.apply(e);
        return;
      default:
        this.apply(f);
    }
  }

  private apply(f: Frame): void {
    if (typeof f.seq === "number" && f.seq > 0) {
      if (f.type !== "state.sync" && this.lastSeq !== null && f.seq <= this.lastSeq) return; // already applied
      this.lastSeq = f.seq;
    } else if (f.type === "state.sync") {
      this.lastSeq = f.seq ?? 0;
    }
    this.h.onEvent(f);
  }

  /** Renews the socket's authorization with a fresh ticket. */
  private async reauth(): Promise<void> {
    if (!(await refreshSession())) return; // the socket closes at expiry; open() then finds the session over
    try {
      const { ticket } = await api.post<{ ticket: string }>("/api/v1/ws-ticket");
      this.ws?.send(JSON.stringify({ type: "connection.reauth", ticket }));
    } catch {
      /* retried at the next warning or after the close */
    }
  }

  private async onClose(ws: WebSocket, ev: CloseEvent): Promise<void> {
    if (ws !== this.ws) return;
    this.ws = null;
    if (this.stopped) return;
    this.dropped = true;
    if (this.suspended) {
      this.h.onStatus("offline", "Disconnected.");
      return;
    }
    if (ev.code === CLOSE_SIGNED_OUT || ev.code === CLOSE_SESSION_EXPIRED || ev.code === CLOSE_REAUTH_FAILED) {
      // Another tab may have signed out, or the token ran out: is our
      // session still good (after a refresh)?
      try {
        await api.get("/api/v1/me");
      } catch (e: any) {
        if (e?.status === 401) {
          this.stopped = true;
          this.h.onSignedOut(ev.reason || "Signed out.");
          return;
        }
      }
      void this.open();
      return;
    }
    this.retry(ev.reason);
  }

  private retry(detail?: string): void {
    const wait = BACKOFF[Math.min(this.attempt, BACKOFF.length - 1)];
    this.attempt++;
    this.h.onStatus("reconnecting", detail || `Reconnecting in ${Math.round(wait / 1000)} s…`);
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => void this.open(), wait);
  }
}

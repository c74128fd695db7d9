// HTTP client of the dashboard: the session lives in HttpOnly cookies; every
// state-changing request carries the CSRF double-submit token read from the
// csrf cookie (api/cookies.go).

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function csrfToken(): string {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "te_csrf" || name === "__Host-te_csrf") return decodeURIComponent(rest.join("="));
  }
  return "";
}

let onUnauthorized: (() => void) | null = null;

/** Called when a request answers 401 even after a refresh. */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

let refreshing: Promise<boolean> | null = null;

/** Renews the access cookie with the refresh cookie (POST /auth/refresh). */
export function refreshSession(): Promise<boolean> {
  if (!refreshing) {
    refreshing = fetch("/auth/refresh", {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    })
      .then((r) => r.ok)
      .catch(() => false)
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

async function send<T>(method: string, path: string, body?: unknown, retried = false): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  const res = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 401 && !retried && !path.startsWith("/auth/")) {
    if (await refreshSession()) return send<T>(method, path, body, true);
  }
  const text = await res.text();
  let data: any = {};
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = {};
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith("/auth/login") && onUnauthorized) onUnauthorized();
    throw new ApiError(res.status, data.error ?? "error", data.message ?? `Request failed (${res.status}).`, data.field);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string) => send<T>("GET", path),
  post: <T>(path: string, body: unknown = {}) => send<T>("POST", path, body),
  put: <T>(path: string, body: unknown) => send<T>("PUT", path, body),
  patch: <T>(path: string, body: unknown) => send<T>("PATCH", path, body),
  del: <T>(path: string) => send<T>("DELETE", path),
};

// ---- shapes of the API (decimals are strings) ----

export interface User {
  id: string;
  email?: string;
  displayName: string;
  role: "trader" | "support" | "admin";
}

export interface Trade {
  id: string;
  signalId: string;
  source: string;
  broker: string;
  symbol: string;
  assetClass: string;
  side: string;
  orderType: string;
  requestedQuantity: string;
  quantity: string;
  limitPrice?: string;
  stopPrice?: string;
  status: string;
  filledQuantity: string;
  fillPrice?: string;
  stopLossPrice?: string;
  takeProfit?: {
    price: string;
    status: string;
    exitTradeId?: string;
    // native: one one-cancels-other pair with the stop at the broker;
    // emulated: watched by TradeExec.
    mode?: "native" | "emulated";
    orderId?: string;
    pairId?: string;
    stopOrderId?: string;
    stopStatus?: "working" | "filled" | "cancelled";
  };
  sizingNote?: string;
  message?: string;
  queuedUntil?: string;
  submittedAt?: string;
  filledAt?: string;
  workflowId: string;
  createdAt: string;
  updatedAt: string;
}

export interface Step {
  at: string;
  action: string;
  status: string;
  message?: string;
  details?: Record<string, unknown>;
}

export interface Position {
  symbol: string;
  connectionId: string;
  quantity: string;
  averageEntryPrice: string;
  currentPrice: string;
  marketValue: string;
  unrealizedPnl: string;
}

export interface Account {
  connectionId: string;
  cash: string;
  equity: string;
  buyingPower: string;
  currency?: string;
  updatedAt: string;
}

export interface Summary {
  value: string;
  cash: string;
  buyingPower: string;
  unrealizedPnl: string;
  accounts: Account[];
  updatedAt?: string;
}

export interface StateSync {
  portfolio: Summary;
  positions: Position[];
  pendingOrders: Trade[];
  recentTrades: Trade[];
}

export interface EquityPoint {
  at: string;
  equity: string;
  cash: string;
}

export interface Connection {
  id: string;
  broker: string;
  brokerName: string;
  label: string;
  paper: boolean;
  active: boolean;
  status: string;
  statusMessage?: string;
  accountValue?: string;
  accountCurrency?: string;
  defaultFor: string[];
}

export interface CatalogField {
  name: string;
  label: string;
  required: boolean;
  secret: boolean;
}

export interface CatalogEntry {
  broker: string;
  name: string;
  oauth: boolean;
  fields: CatalogField[];
}

export interface RiskSettings {
  maxPositionPct: string;
  dailyLossLimitPct: string;
  dailyLossLimitAmount: string;
  circuitBreakerPct: string;
  stopLossPct: string;
  extendedHours: boolean;
  trailingStop?: boolean;
  allowReversal: boolean;
  maxAlertLagSeconds: number;
  requireApproval: boolean;
  approvalTimeoutSeconds: number;
  ladderStop: LadderStop;
  breakevenOffsetPct: string;
  trailAfterTarget: number;
  ladderTrailPct: string;
  entryStrategy: EntryStrategy;
}

/** Stop move after a take-profit ladder's leg fills. */
export type LadderStop = "none" | "breakeven" | "trail";

/** How a multi-entry signal's position is shared among its limit entries. */
export type EntryStrategy = "even" | "decreasing" | "increasing";

/** One leg of a take-profit ladder (GET /api/v1/trades/{id} takeProfitLegs). */
export interface TakeProfitLeg {
  n: number;
  target: string;
  share: string;
  quantity: string;
  status: string;
  mergedInto?: number;
  exitTradeId?: string;
  filledQuantity: string;
  fillPrice?: string;
  stopMove?: string;
  stopPrice?: string;
  trailPercent?: string;
  stopMovedAt?: string;
}

export interface DashboardConfig {
  role: string;
  webhookBase: string;
  temporalUi?: string;
}

export interface AuditEntry {
  id: string;
  seq: number;
  timestamp: string;
  userId: string;
  action: string;
  resourceType?: string;
  resourceId?: string;
  ipAddress?: string;
  userAgent?: string;
  status: string;
  errorMessage?: string;
  details?: Record<string, unknown>;
  previousHash: string;
  currentHash: string;
}

export interface ComplianceReport {
  id: string;
  period: string;
  generatedAt: string;
  totalEntries: number;
  failedLogins: number;
  securityAlerts: number;
  chainsChecked: number;
  chainsFailed: number;
  sha256Html: string;
  sha256Csv: string;
}

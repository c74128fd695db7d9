// Display formatting. Amounts arrive as exact decimal strings; they are
// rounded for display only.

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
const qty = new Intl.NumberFormat("en-US", { maximumFractionDigits: 8 });

export function fmtMoney(v?: string | null): string {
  if (v === undefined || v === null || v === "") return "—";
  const n = Number(v);
  return Number.isFinite(n) ? money.format(n) : v;
}

export function fmtSignedMoney(v?: string | null): string {
  if (!v) return "—";
  const n = Number(v);
  if (!Number.isFinite(n)) return v;
  return (n > 0 ? "+" : "") + money.format(n);
}

export function fmtQty(v?: string | null): string {
  if (!v) return "—";
  const n = Number(v);
  return Number.isFinite(n) ? qty.format(n) : v;
}

export function sign(v?: string | null): "pos" | "neg" | "" {
  if (!v) return "";
  const n = Number(v);
  return n > 0 ? "pos" : n < 0 ? "neg" : "";
}

export function fmtTime(v?: string): string {
  if (!v) return "—";
  const d = new Date(v);
  return d.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

export function statusLabel(s: string): string {
  return s.replace(/_/g, " ");
}

export function actionLabel(a: string): string {
  return a
    .toLowerCase()
    .split("_")
    .map((w, i) => (i === 0 ? w[0].toUpperCase() + w.slice(1) : w))
    .join(" ");
}

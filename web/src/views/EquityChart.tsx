import { useEffect, useRef, useState } from "preact/hooks";
import { AreaSeries, ColorType, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from "lightweight-charts";
import { api, type EquityPoint } from "../api";
import { useStore } from "../store";

// The equity curve (lightweight-charts, a library made for trading charts):
// the server's equity points, plus the live total as it changes. url names
// another curve (a leader's, issue 17: points carry "day" instead of "at");
// live false leaves out the caller's own live total.
export function EquityChart({
  url = "/api/v1/portfolio/equity?days=30",
  live = true,
  emptyText = "The equity curve starts with your first portfolio sync.",
  onError,
}: { url?: string; live?: boolean; emptyText?: string; onError?: (e: unknown) => void } = {}) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<ISeriesApi<"Area"> | null>(null);
  const [empty, setEmpty] = useState(false);
  const value = useStore((s) => s.summary?.value);

  useEffect(() => {
    if (!box.current) return;
    const dark = window.matchMedia?.("(prefers-color-scheme: dark)").matches;
    const c = createChart(box.current, {
      autoSize: true,
      height: 220,
      layout: { background: { type: ColorType.Solid, color: "transparent" }, textColor: dark ? "#cbd5e1" : "#334155" },
      grid: { vertLines: { visible: false }, horzLines: { color: dark ? "#1e293b" : "#e2e8f0" } },
      rightPriceScale: { borderVisible: false },
      timeScale: { borderVisible: false, timeVisible: true },
    });
    const s = c.addSeries(AreaSeries, { lineColor: "#0f766e", topColor: "rgba(15,118,110,0.35)", bottomColor: "rgba(15,118,110,0.02)", lineWidth: 2 });
    chart.current = c;
    series.current = s;
    api
      .get<{ points: (Partial<EquityPoint> & { day?: string; equity: string })[] }>(url)
      .then(({ points }) => {
        const data = dedupe(points.map((p) => ({ time: toTime(p.at ?? p.day ?? ""), value: Number(p.equity) })));
        setEmpty(data.length === 0);
        s.setData(data);
        c.timeScale().fitContent();
      })
      .catch((e) => {
        setEmpty(true);
        onError?.(e);
      });
    return () => {
      c.remove();
      chart.current = null;
      series.current = null;
    };
  }, [url]);

  useEffect(() => {
    if (!live || !series.current || !value) return;
    const last = series.current.data().at(-1);
    const now = toTime(new Date().toISOString());
    if (last && (last.time as number) > now) return;
    series.current.update({ time: now, value: Number(value) });
    setEmpty(false);
  }, [value, live]);

  return (
    <div class="chart-wrap">
      <div ref={box} class="chart" data-testid="equity-chart" />
      {empty && <p class="muted chart-empty">{emptyText}</p>}
    </div>
  );
}

function toTime(iso: string): UTCTimestamp {
  return Math.floor(new Date(iso).getTime() / 1000) as UTCTimestamp;
}

function dedupe<T extends { time: UTCTimestamp }>(points: T[]): T[] {
  const out: T[] = [];
  for (const p of points) {
    if (out.length && out[out.length - 1].time >= p.time) out[out.length - 1] = { ...p, time: out[out.length - 1].time };
    else out.push(p);
  }
  return out;
}

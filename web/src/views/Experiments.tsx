import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";

// GET /api/v1/admin/experiments (admins only).
interface VariantResult {
  name: string;
  weight: number;
  control: boolean;
  exposures: number;
  conversions: number;
  rate: number;
  lift: number;
  liftLow: number;
  liftHigh: number;
  z: number;
  pValue: number;
  tested: boolean;
}

interface ChiResult {
  chiSquare: number;
  df: number;
  pValue: number;
  significant: boolean;
  valid: boolean;
}

interface Result {
  id: string;
  name: string;
  description: string;
  status: string;
  variants: VariantResult[];
  chiSquare: ChiResult;
}

const pct = (x: number) => (x * 100).toFixed(2) + "%";
const pts = (x: number) => (x >= 0 ? "+" : "") + (x * 100).toFixed(2) + " pts";

// Admin → Experiments: per variant exposures, conversions and rate, and
// each variant's two-proportion z-test against the control; above the
// table, the chi-square test of independence over all variants (FR-050).
export function Experiments() {
  const [list, setList] = useState<Result[] | null>(null);
  const [error, setError] = useState("");
  useEffect(() => {
    api
      .get<{ experiments: Result[] }>("/api/v1/admin/experiments")
      .then((r) => setList(r.experiments))
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load the experiments."));
  }, []);
  if (error) return <section class="card"><p class="error">{error}</p></section>;
  if (!list) return <section class="card"><p>Loading…</p></section>;
  return (
    <section class="card" data-testid="experiments">
      <h2>Experiments</h2>
      <p>
        <a href="/api/v1/admin/experiments?format=csv">Download CSV</a>
      </p>
      {list.map((e) => (
        <div key={e.id}>
          <h3>
            {e.name} <span class="muted small">({e.id}, {e.status})</span>
          </h3>
          <p class="muted small">{e.description}</p>
          <p data-testid={`experiment-chi-${e.id}`}>
            {e.chiSquare.valid
              ? `Chi-square over all variants: χ² = ${e.chiSquare.chiSquare.toFixed(3)} (df ${e.chiSquare.df}), p = ${e.chiSquare.pValue.toFixed(4)} — ${e.chiSquare.significant ? "significant (p < 0.05)" : "not significant"}.`
              : "Chi-square over all variants: not testable yet (needs exposures in two variants and both outcomes)."}
          </p>
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Variant</th>
                  <th class="num">Weight</th>
                  <th class="num">Exposures</th>
                  <th class="num">Conversions</th>
                  <th class="num">Rate</th>
                  <th class="num">Lift vs control (95% CI)</th>
                  <th class="num">z</th>
                  <th class="num">p-value</th>
                </tr>
              </thead>
              <tbody>
                {e.variants.map((v) => (
                  <tr key={v.name}>
                    <td>
                      {v.name}
                      {v.control ? " (control)" : ""}
                    </td>
                    <td class="num">{v.weight}</td>
                    <td class="num">{v.exposures}</td>
                    <td class="num">{v.conversions}</td>
                    <td class="num">{v.exposures ? pct(v.rate) : "—"}</td>
                    <td class="num">{v.tested ? `${pts(v.lift)} (${pts(v.liftLow)} … ${pts(v.liftHigh)})` : "—"}</td>
                    <td class="num">{v.tested ? v.z.toFixed(3) : "—"}</td>
                    <td class={`num ${v.tested && v.pValue < 0.05 ? "pos" : ""}`}>{v.tested ? v.pValue.toFixed(4) : "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ))}
    </section>
  );
}

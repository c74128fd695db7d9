import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { toast } from "../store";

interface Account {
  plan: string;
  planName: string;
  status: string;
  renewalDate?: string;
  cancelAtPeriodEnd: boolean;
  pendingPlan?: string;
  provider?: string;
  liveBrokers: number;
  liveBrokerLimit: number;
  pastDue: boolean;
}

interface Plan {
  plan: string;
  name: string;
  price: string;
  liveBrokers: number;
  analytics: boolean;
}

interface Invoice {
  id: string;
  number: string;
  status: string;
  amountCents: number;
  paidCents: number;
  currency: string;
  created: string;
  url: string;
}

interface Preview {
  plan: string;
  charge: string;
  effective: string;
  message: string;
}

const RANK: Record<string, number> = { free: 0, basic: 1, pro: 2, premium: 3 };

function limitText(n: number): string {
  if (n < 0) return "unlimited live brokers";
  if (n === 0) return "paper trading only";
  return n === 1 ? "1 live broker" : `${n} live brokers`;
}

function dollars(cents: number): string {
  return "$" + (cents / 100).toFixed(cents % 100 === 0 ? 0 : 2);
}

// Settings → Billing (SPEC US-012): the plan, usage against its limit,
// upgrade/downgrade with the prorated amount shown before confirming,
// invoices, cancel. Payment pages are the provider's own (Checkout,
// Customer Portal); the plan changes when the provider's webhook arrives.
export function Billing() {
  const [account, setAccount] = useState<Account | null>(null);
  const [plans, setPlans] = useState<Plan[]>([]);
  const [enabled, setEnabled] = useState(false);
  const [invoices, setInvoices] = useState<Invoice[]>([]);
  const [preview, setPreview] = useState<Preview | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  const load = () =>
    api
      .get<{ account: Account; plans: Plan[]; enabled: boolean }>("/api/v1/billing")
      .then((r) => {
        setAccount(r.account);
        setPlans(r.plans);
        setEnabled(r.enabled);
        if (r.enabled && r.account.provider) {
          api
            .get<{ invoices: Invoice[] }>("/api/v1/billing/invoices")
            .then((i) => setInvoices(i.invoices))
            .catch(() => undefined);
        }
      })
      .catch((e) => setError(e instanceof ApiError ? e.message : "Could not load billing."));

  useEffect(() => {
    load();
  }, []);

  // The upgrade prompt experiment (issue 16): a free-plan trader is shown
  // one of two wordings; showing it records the exposure, and a checkout
  // that completes is the conversion (recorded by the billing webhook).
  const [promptVariant, setPromptVariant] = useState("");
  const showPrompt = !!account && enabled && account.plan === "free";
  useEffect(() => {
    if (!showPrompt || promptVariant) return;
    api
      .post<{ variant: string }>("/api/v1/experiments/upgrade-prompt/exposure")
      .then((r) => setPromptVariant(r.variant))
      .catch(() => setPromptVariant("control"));
  }, [showPrompt]);

  const fail = (e: unknown, fallback: string) => setError(e instanceof ApiError ? e.message : fallback);
  const subscribed = !!account && account.plan !== "free" && !!account.provider;

  async function choose(plan: string) {
    setError("");
    setPreview(null);
    setBusy(true);
    try {
      if (!subscribed) {
        const r = await api.post<{ url: string }>("/api/v1/billing/checkout", { plan });
        location.href = r.url;
        return;
      }
      setPreview(await api.get<Preview>("/api/v1/billing/preview?plan=" + encodeURIComponent(plan)));
    } catch (e) {
      fail(e, "Could not start the change.");
    } finally {
      setBusy(false);
    }
  }

  async function confirm() {
    if (!preview) return;
    setBusy(true);
    try {
      const r = await api.post<{ message: string }>("/api/v1/billing/change", { plan: preview.plan });
      toast(r.message, "success");
      setPreview(null);
      load();
    } catch (e) {
      fail(e, "Could not change the plan.");
    } finally {
      setBusy(false);
    }
  }

  async function cancel() {
    if (!window.confirm("Cancel the subscription at the end of the paid period?")) return;
    setBusy(true);
    try {
      const r = await api.post<{ message: string }>("/api/v1/billing/cancel");
      toast(r.message, "success");
      load();
    } catch (e) {
      fail(e, "Could not cancel.");
    } finally {
      setBusy(false);
    }
  }

  async function portal() {
    try {
      const r = await api.post<{ url: string }>("/api/v1/billing/portal");
      location.href = r.url;
    } catch (e) {
      fail(e, "Could not open the payment settings.");
    }
  }

  if (!account) return <section class="card narrow">{error ? <p class="error">{error}</p> : <p>Loading…</p>}</section>;

  return (
    <section class="card" id="billing">
      <h2>Billing</h2>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <p class="billing-plan">
        Plan: <strong>{account.planName}</strong> — {limitText(account.liveBrokerLimit)}. Live brokers in use:{" "}
        <strong class="billing-usage">
          {account.liveBrokers}
          {account.liveBrokerLimit >= 0 ? ` of ${account.liveBrokerLimit}` : ""}
        </strong>
        {account.renewalDate && !account.cancelAtPeriodEnd && <> · renews {new Date(account.renewalDate).toLocaleDateString()}</>}
      </p>
      {account.liveBrokerLimit >= 0 && account.liveBrokers > account.liveBrokerLimit && (
        <p class="note">
          {account.liveBrokers - account.liveBrokerLimit} live connection(s) are paused by your plan: signals routed to them are refused
          until you upgrade or disconnect one. They are not deleted.
        </p>
      )}
      {account.pastDue && (
        <p class="error" role="alert">
          Your last payment failed. Update your card to keep your plan.
        </p>
      )}
      {account.cancelAtPeriodEnd && account.renewalDate && (
        <p class="note">
          Cancelled: {account.planName} access until {new Date(account.renewalDate).toLocaleDateString()}.
        </p>
      )}
      {account.pendingPlan && <p class="note">Moving to {account.pendingPlan} at renewal.</p>}
      {!enabled && <p class="note">Subscriptions are not enabled on this server: every account is on its current plan.</p>}

      {showPrompt && promptVariant && <UpgradePrompt variant={promptVariant} plans={plans} busy={busy} choose={choose} />}

      <table class="billing-plans">
        <thead>
          <tr>
            <th>Plan</th>
            <th>Price</th>
            <th>Brokers</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {plans.map((p) => (
            <tr key={p.plan} class={p.plan === account.plan ? "current" : ""}>
              <td>{p.name}</td>
              <td>{p.price}/month</td>
              <td>{limitText(p.liveBrokers)}</td>
              <td>
                {p.plan === account.plan ? (
                  <span class="muted">current</span>
                ) : p.plan === "free" ? null : (
                  <button disabled={!enabled || busy} onClick={() => choose(p.plan)} data-plan={p.plan}>
                    {RANK[p.plan] > RANK[account.plan] ? "Upgrade" : "Downgrade"}
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      {preview && (
        <div class="note billing-preview" role="dialog">
          <p>{preview.message}</p>
          <button disabled={busy} onClick={confirm}>
            Confirm
          </button>{" "}
          <button class="secondary" onClick={() => setPreview(null)}>
            Back
          </button>
        </div>
      )}

      {subscribed && (
        <p>
          <button class="secondary" onClick={portal}>
            Payment method
          </button>{" "}
          {!account.cancelAtPeriodEnd && (
            <button class="secondary" disabled={busy} onClick={cancel}>
              Cancel subscription
            </button>
          )}
        </p>
      )}

      {invoices.length > 0 && (
        <>
          <h3>Invoices</h3>
          <table>
            <tbody>
              {invoices.map((i) => (
                <tr key={i.id}>
                  <td>{new Date(i.created).toLocaleDateString()}</td>
                  <td>{i.number || i.id}</td>
                  <td>{dollars(i.amountCents)}</td>
                  <td>{i.status}</td>
                  <td>{i.url && <a href={i.url}>view</a>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

// UpgradePrompt: the two wordings of the upgrade-prompt experiment, both
// leading to the cheapest paid plan's checkout.
function UpgradePrompt({ variant, plans, busy, choose }: { variant: string; plans: Plan[]; busy: boolean; choose: (plan: string) => void }) {
  const target = plans.filter((p) => RANK[p.plan] > 0).sort((a, b) => RANK[a.plan] - RANK[b.plan])[0];
  if (!target) return null;
  const text =
    variant === "missed-trades"
      ? `On the free plan your signals only reach paper accounts. Upgrade to ${target.name} (${target.price}/month) and the next one trades live.`
      : `Trade live: the ${target.name} plan connects ${limitText(target.liveBrokers)} for ${target.price}/month.`;
  return (
    <div class="note upgrade-prompt" data-testid="upgrade-prompt" data-variant={variant}>
      <p>{text}</p>
      <button class="primary" disabled={busy} onClick={() => choose(target.plan)}>
        Upgrade to {target.name}
      </button>
    </div>
  );
}

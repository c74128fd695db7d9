import { useState } from "preact/hooks";
import { api, ApiError } from "../api";

export function Login({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState(() => {
    const r = sessionStorage.getItem("signout-reason") ?? "";
    sessionStorage.removeItem("signout-reason");
    return r;
  });
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      await api.post("/auth/login", { email, password });
      await onSignedIn();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not reach the server.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="login">
      <form class="card" onSubmit={submit}>
        <h1>tradeexec</h1>
        <p class="muted">Sign in to your trading dashboard.</p>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <a class="button secondary" href="/auth/discord">
          Sign in with Discord
        </a>
        <a href="#/forgot" class="small">
          Forgot your password?
        </a>
      </form>
    </div>
  );
}

import { useState } from "preact/hooks";
import { api, ApiError } from "../api";

// Password reset by e-mail (FR-029): ask for a link (#/forgot), then set a
// new password with the link's token (#/reset?token=…). Every session of
// the account ends; the trader signs in again.
export function Forgot() {
  const [email, setEmail] = useState("");
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const r = await api.post<{ message: string }>("/auth/password/forgot", { email });
      setMessage(r.message);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not reach the server.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="login">
      <form class="card" onSubmit={submit}>
        <h1>Reset your password</h1>
        {message ? <p class="note" data-testid="reset-sent">{message}</p> : <p class="muted">We mail you a link that works once, for 30 minutes.</p>}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <label>
          Email
          <input name="email" type="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          Send the link
        </button>
        <a href="#/">Back to sign in</a>
      </form>
    </div>
  );
}

export function Reset({ token }: { token: string }) {
  const [password, setPassword] = useState("");
  const [message, setMessage] = useState("");
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError("");
    try {
      const r = await api.post<{ message: string }>("/auth/password/reset", { token, password });
      setMessage(r.message);
    } catch (err) {
      setError(err instanceof ApiError ? err.message : "Could not reach the server.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="login">
      <form class="card" onSubmit={submit}>
        <h1>Choose a new password</h1>
        {message && (
          <p class="note" data-testid="reset-done">
            {message} <a href="#/">Sign in</a>
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {!message && (
          <>
            <label>
              New password
              <input name="new-password" type="password" autocomplete="new-password" required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />
            </label>
            <button type="submit" class="primary" disabled={busy || !token}>
              Set the password
            </button>
          </>
        )}
      </form>
    </div>
  );
}

// Signing in and out: the token lives in sessionStorage (and the server's cookie); a change of
// principal reloads the configuration and style, since what the map shows depends on it.
import { $ } from "/map/static/dom.js";
import { onTokenExpired } from "/map/static/http.js";
import { t } from "/map/static/i18n.js";
import { state } from "/map/static/state.js";

let reloadPage = async () => {};
onTokenExpired(() => signOut());

/** Show who is signed in, and the sign-in or sign-out button. */
export function showWho() {
  const p = state.config.principal;
  $("who").hidden = p.anonymous;
  $("who").textContent = p.anonymous ? "" : p.name;
  $("signout").hidden = p.anonymous;
  $("signin-open").hidden = !p.anonymous;
}

/** Forget the token, end the server session, and reload as an anonymous visitor. */
export function signOut() {
  state.token = null;
  sessionStorage.removeItem("onemap.token");
  fetch("/auth/logout", { method: "POST", credentials: "same-origin" }).catch(() => {}).finally(() => reloadPage());
}

async function signIn(ev, dialog) {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const body = new URLSearchParams({ username: form.get("username"), password: form.get("password") });
  const response = await fetch(state.config.signIn, { method: "POST", body, credentials: "same-origin" });
  const error = $("signin-error");
  if (!response.ok) {
    error.textContent = response.status === 404 || response.status === 405 ? t("signInMissing")
      : t("signInFailed") + ((await response.json().catch(() => ({}))).detail || response.status);
    error.hidden = false;
    return;
  }
  const data = await response.json().catch(() => ({}));
  if (data.access_token) {
    state.token = data.access_token;
    sessionStorage.setItem("onemap.token", state.token);
  }
  dialog.close();
  await reloadPage();
}

/** Wire the sign-in dialog and sign-out button; ``reload`` refetches what the principal may see. */
export function setupSignIn(reload) {
  reloadPage = reload;
  const dialog = $("signin");
  $("signin-open").onclick = () => { $("signin-error").hidden = true; dialog.showModal(); };
  $("signin-cancel").onclick = () => dialog.close();
  $("signout").onclick = signOut;
  $("signin-form").onsubmit = (ev) => signIn(ev, dialog);
}

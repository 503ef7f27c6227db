// Login and the bearer token: POST /api/v1/auth/login, token kept in sessionStorage so a
// reload of the tab resumes (the token never goes into a URL).

import { h } from "./dom.js";

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.fields = fields || [];
  }
}

/** fetch JSON from the server's HTTP API; errors become ApiError with the stable code. */
export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "client.offline", "the server cannot be reached");
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    throw new ApiError(response.status, error.code || `http.${response.status}`,
      error.message || response.statusText, error.fields);
  }
  return data;
}

export class Session {
  constructor(storageKey) {
    this.storageKey = storageKey;
    this.data = null;
    try {
      const saved = JSON.parse(sessionStorage.getItem(storageKey) || "null");
      if (saved && saved.token && (!saved.expires_at || Date.parse(saved.expires_at) > Date.now())) {
        this.data = saved;
      }
    } catch {
      this.data = null;
    }
  }

  get token() {
    return this.data ? this.data.token : "";
  }

  async login(username, password) {
    const data = await api("/api/v1/auth/login", { method: "POST", body: { username, password } });
    this.data = { ...data, username };
    sessionStorage.setItem(this.storageKey, JSON.stringify(this.data));
    return this.data;
  }

  clear() {
    this.data = null;
    sessionStorage.removeItem(this.storageKey);
  }

  /** Call the HTTP API with this session's token. */
  api(path, options = {}) {
    return api(path, { ...options, token: this.token });
  }
}

/**
 * Render the login form into `root`; resolves once a login with one of `roles` succeeds.
 */
export function loginForm(root, { title, subtitle, session, roles }) {
  return new Promise((resolve) => {
    const user = h("input", {
      class: "field", id: "login-username", name: "username", autocomplete: "username",
      required: true, autofocus: true,
    });
    const pass = h("input", {
      class: "field", id: "login-password", name: "password", type: "password",
      autocomplete: "current-password", required: true,
    });
    const error = h("p", { class: "form-error", role: "alert", id: "login-error" });
    const submit = h("button", { class: "btn primary", type: "submit", text: "Sign in" });
    const form = h("form", { class: "panel login-card", "aria-labelledby": "login-title" },
      h("div", { class: "brand" }, h("div", { class: "logo", "aria-hidden": "true", text: "CC" }),
        h("div", {}, h("h1", { id: "login-title", text: title }),
          h("p", { class: "muted small", text: subtitle }))),
      h("label", { class: "stack", for: "login-username" }, "Username", user),
      h("label", { class: "stack", for: "login-password" }, "Password", pass),
      error, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.textContent = "";
      try {
        const data = await session.login(user.value.trim(), pass.value);
        if (roles && !roles.includes(data.role)) {
          session.clear();
          throw new ApiError(403, "auth.forbidden", `this page needs the ${roles.join(" or ")} role`);
        }
        resolve(data);
      } catch (err) {
        error.textContent = err.code === "auth.invalid_credentials"
          ? "Wrong username or password." : err.message;
        pass.select();
      } finally {
        submit.disabled = false;
      }
    });
    root.replaceChildren(h("main", { class: "login-screen" }, form));
    user.focus();
  });
}

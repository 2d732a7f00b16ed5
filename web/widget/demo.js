// The demo host page: a customer login that hands the session token to the widget.
// A real bank's page would get the token from its own login and call window.finagent.setToken.
const SESSION_KEY = "lakeshore-demo-session";

const $ = (id) => document.getElementById(id);

function widgetReady() {
  if (window.finagent && window.finagent.setToken) return Promise.resolve(window.finagent);
  return new Promise((resolve) =>
    window.addEventListener("finagent:ready", () => resolve(window.finagent), { once: true }),
  );
}

async function login(username, password) {
  let response;
  try {
    response = await fetch("/api/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ username, password }),
    });
  } catch {
    throw new Error("The bank's servers cannot be reached right now. Please try again.");
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error?.message || "Sign-in failed. Check your user name and password.");
  if (body.role !== "customer") {
    throw new Error("This is the customer site. Compliance officers sign in at /console/.");
  }
  return body;
}

async function showSession(session) {
  $("login-card").hidden = Boolean(session);
  $("welcome").hidden = !session;
  $("session").hidden = !session;
  const finagent = await widgetReady();
  if (session) {
    $("session-name").textContent = session.display_name;
    $("welcome-title").textContent = `Welcome back, ${session.display_name.split(" ")[0]}.`;
    await finagent.setToken(session.token, { subject: session.subject, displayName: session.display_name });
  } else {
    await finagent.clearToken();
  }
}

$("login-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const error = $("login-error");
  const submit = $("login-submit");
  error.hidden = true;
  submit.disabled = true;
  try {
    const session = await login($("username").value.trim(), $("password").value);
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    $("password").value = "";
    await showSession(session);
    window.finagent.open();
  } catch (err) {
    error.textContent = err.message;
    error.hidden = false;
  } finally {
    submit.disabled = false;
  }
});

$("logout").addEventListener("click", async () => {
  sessionStorage.removeItem(SESSION_KEY);
  await showSession(null);
  $("username").focus();
});

widgetReady().then((finagent) =>
  finagent.on("unauthorized", () => {
    sessionStorage.removeItem(SESSION_KEY);
    showSession(null);
  }),
);

// The demo keeps the session for this tab only, so a reload restores it (and the conversation).
const saved = sessionStorage.getItem(SESSION_KEY);
showSession(saved ? JSON.parse(saved) : null);

// The demo's whole frontend: supabase-js for sign-in (email code), the plans and the profile
// (`from(...)`, under row-level security) and the billing functions (`functions.invoke`).
// Nothing here is specific to the local server except what LOCAL_TEST_MODE guards.
import { LOCAL_TEST_MODE, SUPABASE_PUBLISHABLE_KEY, SUPABASE_URL } from "./config.js";

const supabase = globalThis.supabase.createClient(SUPABASE_URL, SUPABASE_PUBLISHABLE_KEY);

/** Statuses in which the user has a subscription to manage (the checkout refuses a second). */
const LIVE_STATUSES = new Set(["active", "trialing", "past_due", "unpaid", "paused"]);
const PROFILE_COLUMNS = "id, email, stripe_customer_id, subscription_status, price_id, " +
  "current_period_end, cancel_at_period_end, cancel_at, canceled_at, trial_end, entitlements";
const PLAN_COLUMNS = "price_id, name, description, unit_amount, currency, interval, " +
  "interval_count, trial_days, features, is_default";
const POLL_MS = 1000;
/** How long the dashboard waits, after Checkout, for the webhook before it says none came. */
const CHECKOUT_WAIT_MS = 20_000;
/** Where the demo notes, before leaving for the portal, that it went there (per tab). */
const PORTAL_MARK = "demo.portal";
/** Words that read better in capitals when a feature's lookup key becomes a label. */
const ACRONYMS = new Map([["api", "API"], ["sso", "SSO"], ["ai", "AI"], ["cli", "CLI"]]);

const $ = (id) => document.getElementById(id);
const state = {
  session: null,
  plans: [],
  profile: null,
  interval: "month",
  poll: undefined,
  view: undefined,
  /** When this page, signed in, began waiting for a Checkout's subscription. */
  checkoutSince: 0,
};

// ---- small helpers ------------------------------------------------------------------------------

function show(view) {
  const previous = state.view;
  state.view = view;
  for (const name of ["loading", "sign-in", "plans", "dashboard"]) {
    $(`view-${name}`).hidden = name !== view;
  }
  if (view !== "dashboard") stopPolling();
  // A screen reader or keyboard user starts at the top of a new screen, not where they clicked.
  if (previous !== undefined && previous !== "loading" && previous !== view) $("main").focus();
}

function setMessage(id, text) {
  $(id).textContent = text ?? "";
  $(id).hidden = !text;
}

const showError = (text) => setMessage("error", text);
const showNotice = (text) => setMessage("notice", text);

function busy(button, isBusy) {
  button.disabled = isBusy;
  button.setAttribute("aria-busy", String(isBusy));
}

/** The message a function's error carries: its `{"error"}` body, else a generic one. */
async function functionError(error) {
  const response = error?.context;
  if (response && typeof response.json === "function") {
    const body = await response.json().catch(() => null);
    if (body && typeof body.error === "string") return body.error;
  }
  return "The billing service could not be reached. Try again in a moment.";
}

function formatAmount(minorUnits, currency) {
  const format = new Intl.NumberFormat(navigator.language, {
    style: "currency",
    currency: currency.toUpperCase(),
  });
  const digits = format.resolvedOptions().maximumFractionDigits;
  return format.format(minorUnits / 10 ** digits).replace(/\.00$/, "");
}

function formatDate(value) {
  if (!value) return "—";
  return new Date(value).toLocaleDateString(navigator.language, { dateStyle: "medium" });
}

function intervalLabel(plan) {
  if (!plan.interval) return "one time";
  const count = plan.interval_count ?? 1;
  return count === 1 ? `per ${plan.interval}` : `every ${count} ${plan.interval}s`;
}

function featureLabel(key) {
  const words = key.split(/[_\-.\s]+/).filter(Boolean)
    .map((word) => ACRONYMS.get(word.toLowerCase()) ?? word.toLowerCase());
  const label = words.join(" ");
  return label.charAt(0).toUpperCase() + label.slice(1);
}

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

// ---- sign-in -----------------------------------------------------------------------------------

$("email-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError();
  const email = $("email").value.trim();
  if (!$("email").checkValidity() || email === "") {
    showError("Enter an email address such as you@example.com.");
    $("email").focus();
    return;
  }
  const button = event.submitter ?? $("email-form").querySelector("button");
  busy(button, true);
  const { error } = await supabase.auth.signInWithOtp({ email });
  busy(button, false);
  if (error) {
    showError(error.message);
    return;
  }
  $("code-email").textContent = email;
  $("email-form").hidden = true;
  $("code-form").hidden = false;
  $("code").value = "";
  $("code").focus();
  if (LOCAL_TEST_MODE) await showLocalMailbox(email);
});

/** Local test mode only: the code the local server "sent", read from its mailbox. */
async function showLocalMailbox(email) {
  const response = await fetch(`/auth/v1/local/mailbox?email=${encodeURIComponent(email)}`);
  if (!response.ok) return;
  const { code } = await response.json();
  $("local-code").textContent = code;
  $("local-mail").hidden = false;
}

$("code-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  showError();
  const token = $("code").value.trim();
  if (!/^\d{6}$/.test(token)) {
    showError("Enter the six digits of the code.");
    $("code").focus();
    return;
  }
  const button = event.submitter ?? $("code-form").querySelector("button");
  busy(button, true);
  const { error } = await supabase.auth.verifyOtp({
    email: $("code-email").textContent,
    token,
    type: "email",
  });
  busy(button, false);
  // On success, onAuthStateChange below takes over.
  if (error) showError(`${error.message}. Check the code, or ask for a new one.`);
});

$("change-email").addEventListener("click", () => {
  $("code-form").hidden = true;
  $("local-mail").hidden = true;
  $("email-form").hidden = false;
  $("email").focus();
});

$("sign-out").addEventListener("click", async () => {
  await supabase.auth.signOut();
});

// ---- plans -------------------------------------------------------------------------------------

async function loadPlans() {
  const { data, error } = await supabase.from("billing_plans").select(PLAN_COLUMNS)
    .eq("active", true).order("unit_amount", { ascending: true });
  if (error) throw new Error(`Could not load the plans: ${error.message}`);
  state.plans = data;
}

function renderPlans() {
  const intervals = new Set(state.plans.map((plan) => plan.interval));
  $("intervals").hidden = !(intervals.has("month") && intervals.has("year"));
  for (const button of $("intervals").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.interval === state.interval));
  }
  const shown = $("intervals").hidden
    ? state.plans
    : state.plans.filter((plan) => plan.interval === state.interval);
  const cards = shown.map((plan) =>
    element("li", { class: `plan card${plan.is_default ? " featured" : ""}` }, [
      element("h2", { text: plan.name }),
      element("p", { class: "muted", text: plan.description ?? "" }),
      element("p", { class: "price" }, [
        element("strong", {
          text: plan.unit_amount === null ? "—" : formatAmount(plan.unit_amount, plan.currency),
        }),
        ` ${intervalLabel(plan)}`,
      ]),
      ...(plan.trial_days
        ? [element("p", { class: "tag", text: `${plan.trial_days}-day free trial` })]
        : []),
      element(
        "ul",
        { class: "features", "aria-label": `${plan.name} includes` },
        plan.features.map((feature) => element("li", { text: featureLabel(feature) })),
      ),
      subscribeButton(`Subscribe to ${plan.name}`, { price: plan.price_id }),
    ])
  );
  // Without a catalog (no sync pass has filled billing_plans yet): the default plan.
  if (cards.length === 0) {
    cards.push(element("li", { class: "plan card featured" }, [
      element("h2", { text: "Subscription" }),
      element("p", { class: "muted", text: "The project's default plan." }),
      subscribeButton("Subscribe", undefined),
    ]));
  }
  $("plans").replaceChildren(...cards);
}

function subscribeButton(label, body) {
  const button = element("button", { type: "button", class: "primary", text: label });
  button.addEventListener("click", async () => {
    showError();
    busy(button, true);
    const { data, error } = await supabase.functions.invoke("stripe-checkout", body && { body });
    if (error) {
      busy(button, false);
      showError(await functionError(error));
      return;
    }
    location.assign(data.url);
  });
  return button;
}

$("intervals").addEventListener("click", (event) => {
  const interval = event.target.closest("button")?.dataset.interval;
  if (!interval) return;
  state.interval = interval;
  renderPlans();
});

// ---- dashboard ---------------------------------------------------------------------------------

async function loadProfile() {
  const { data, error } = await supabase.from("profiles").select(PROFILE_COLUMNS)
    .eq("id", state.session.user.id).maybeSingle();
  if (error) throw new Error(`Could not load your profile: ${error.message}`);
  state.profile = data;
}

function planName(priceId) {
  const plan = state.plans.find((entry) => entry.price_id === priceId);
  if (!plan) return priceId ?? "—";
  const amount = plan.unit_amount === null
    ? ""
    : ` · ${formatAmount(plan.unit_amount, plan.currency)}`;
  return `${plan.name}${amount} ${intervalLabel(plan)}`;
}

/**
 * When a canceled subscription ended. A cancellation scheduled for a time now past ended then;
 * otherwise it ended when it was canceled (Stripe's `canceled_at`).
 */
function endedAt(profile) {
  const scheduled = profile.cancel_at && new Date(profile.cancel_at);
  if (scheduled && scheduled.getTime() <= Date.now()) return profile.cancel_at;
  return profile.canceled_at ?? profile.cancel_at;
}

function periodOf(profile) {
  const status = profile.subscription_status;
  if (status === "canceled") {
    const end = endedAt(profile);
    return end ? ["Ended on", end] : undefined;
  }
  if (status === "trialing" && profile.trial_end) return ["Trial ends", profile.trial_end];
  if (!LIVE_STATUSES.has(status)) return undefined;
  if (profile.cancel_at_period_end) return ["Cancels on", profile.current_period_end];
  if (profile.cancel_at) return ["Cancels on", profile.cancel_at];
  return ["Renews on", profile.current_period_end];
}

function renderDashboard() {
  const profile = state.profile ?? {};
  const status = profile.subscription_status ?? "none";
  const live = LIVE_STATUSES.has(status);
  $("status").textContent = status.replace("_", " ");
  $("status").className = `badge ${status}`;
  $("plan").textContent = profile.price_id ? planName(profile.price_id) : "—";
  const period = profile.subscription_status ? periodOf(profile) : undefined;
  $("period-row").hidden = period === undefined;
  if (period) {
    $("period-label").textContent = period[0];
    $("period").textContent = formatDate(period[1]);
  }
  const entitlements = profile.entitlements ?? [];
  $("entitlements").replaceChildren(
    ...entitlements.map((key) => element("li", { class: "chip", text: featureLabel(key) })),
  );
  $("no-entitlements").hidden = entitlements.length > 0;
  $("no-entitlements").textContent = status === "canceled"
    ? "None: your plan has ended."
    : "None yet: they arrive with a paid plan.";
  $("manage").hidden = !profile.stripe_customer_id;
  $("manage").classList.toggle("primary", live);
  $("payment-method").hidden = !live;
  $("choose-plan").hidden = live;
  const url = new URL(location.href);
  if (url.searchParams.get("checkout") === "success") showNotice(checkoutNotice(live));
}

/** What the dashboard says after Checkout: subscribed, waiting, or (after a while) why not. */
function checkoutNotice(live) {
  if (live) return "You're subscribed. Thank you!";
  if (Date.now() - state.checkoutSince < CHECKOUT_WAIT_MS) {
    return "Payment received: waiting for Stripe's confirmation…";
  }
  // The success URL says a payment was made, not for whom: perhaps for someone else.
  const example = LOCAL_TEST_MODE ? " (for example with a token from deno task token)" : "";
  return `No subscription has reached ${state.session.user.email} yet. It shows here by ` +
    `itself when Stripe's webhook arrives; a payment made for another user${example} shows ` +
    "when you sign in as that user.";
}

function startPolling() {
  stopPolling();
  state.poll = setInterval(async () => {
    if (document.visibilityState !== "visible" || !state.session) return;
    try {
      await loadProfile();
      renderDashboard();
    } catch (error) {
      showError(error.message);
    }
  }, POLL_MS);
}

function stopPolling() {
  clearInterval(state.poll);
  state.poll = undefined;
}

async function openPortal(button, body) {
  showError();
  busy(button, true);
  const { data, error } = await supabase.functions.invoke("stripe-portal", body && { body });
  if (error) {
    busy(button, false);
    showError(await functionError(error));
    return;
  }
  // The portal comes back to the plain /dashboard: the mark says where the user was.
  sessionStorage.setItem(PORTAL_MARK, body?.flow ?? "home");
  location.assign(data.url);
}

/** The notice for a return from the portal, once, or undefined when the user was not there. */
function takePortalNotice() {
  const flow = sessionStorage.getItem(PORTAL_MARK);
  sessionStorage.removeItem(PORTAL_MARK);
  if (flow === null) return undefined;
  return flow === "payment_method_update"
    ? "Back from billing. A card saved there pays your next invoice."
    : "Back from billing. What you changed there shows here once Stripe's webhook arrives.";
}

$("manage").addEventListener("click", (event) => openPortal(event.currentTarget, undefined));
$("payment-method").addEventListener(
  "click",
  (event) => openPortal(event.currentTarget, { flow: "payment_method_update" }),
);

// ---- what to show ------------------------------------------------------------------------------

async function render(session) {
  // Notices and the wait for a Checkout belong to one user: another user starts afresh.
  if (session?.user.id !== state.session?.user.id) {
    state.checkoutSince = Date.now();
    showNotice();
    showError();
  }
  state.session = session;
  $("account").hidden = !session;
  $("account-email").textContent = session?.user.email ?? "";
  // On a phone a long email is cut short with an ellipsis: the whole of it on hover.
  $("account-email").title = session?.user.email ?? "";
  const url = new URL(location.href);
  const checkout = url.searchParams.get("checkout");
  if (checkout === "canceled") showNotice("Checkout canceled: nothing was charged.");
  if (!session) {
    state.profile = null;
    $("code-form").hidden = true;
    $("local-mail").hidden = true;
    $("email-form").hidden = false;
    if (checkout === "success") {
      showNotice("Payment received. Sign in as the account you paid for to see it.");
    }
    show("sign-in");
    return;
  }
  try {
    await Promise.all([loadPlans(), loadProfile()]);
  } catch (error) {
    showError(error.message);
    return;
  }
  const back = takePortalNotice();
  if (back) showNotice(back);
  const live = LIVE_STATUSES.has(state.profile?.subscription_status);
  if (url.pathname === "/dashboard" || live) {
    if (url.pathname !== "/dashboard") history.replaceState(null, "", "/dashboard");
    renderDashboard();
    show("dashboard");
    startPolling();
  } else {
    renderPlans();
    show("plans");
  }
}

// supabase-js calls this on sign-in, sign-out and token refresh. Work that calls supabase-js
// again is deferred out of the callback, as its documentation asks.
supabase.auth.onAuthStateChange((event, session) => {
  // Signed out, the page is the plans and sign-in at `/`, whatever page it was.
  if (event === "SIGNED_OUT" && location.pathname + location.search !== "/") {
    history.replaceState(null, "", "/");
  }
  if (event === "SIGNED_IN" || event === "SIGNED_OUT" || event === "INITIAL_SESSION") {
    setTimeout(() => render(session), 0);
  } else {
    state.session = session;
  }
});

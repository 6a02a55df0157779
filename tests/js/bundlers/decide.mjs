// What every app of tests/js/bundlers.test.mjs does, bundled with it: one request (issue 33's),
// judged by the shipped policy (claims-only), and its decision shown.
const REQUEST = { method: "DELETE", path: "/contacts/1", claims: { sub: "u", role: "agent" } };

// The decision as the test reads it: status and code ("403 missing_permission").
export function decide(Authorizer) {
  const d = new Authorizer({}).authorize(REQUEST);
  return `${d.status} ${d.code}`;
}

// Writes text into the page's #decision (browsers): the decision, or what went wrong.
export function show(text) {
  document.getElementById("decision").textContent = text;
}

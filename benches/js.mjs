// `make bench-js`: what one `authorize` call costs in Node, side by side with seed 000's
// hand-written check (`ROLE_PERMISSIONS[role].has(permission)` behind a route table), in one run.
// Warm calls, median of rounds; prints a Markdown table. Informative: never a timed test.
// BENCH_BASELINE=<another build's node/intercom_authz.js> adds its column, its rounds interleaved
// with this build's (before/after in one run).
import crypto from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const builds = [["this build", process.env.INTERCOM_AUTHZ_JS ?? "../dist/js/node/intercom_authz.js"]];
if (process.env.BENCH_BASELINE) builds.unshift(["baseline", process.env.BENCH_BASELINE]);

const CALLS = Number(process.env.BENCH_CALLS ?? 100000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const secret = "bench-secret-0123456789abcdef-0123456789abcdef";

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
const head = b64({ alg: "HS256", typ: "JWT", kid: "k" });
const claims = b64({ sub: "u1", role: "agent", exp: 4102444800 });
const sig = crypto.createHmac("sha256", secret).update(`${head}.${claims}`).digest("base64url");
const token = `${head}.${claims}.${sig}`;

// Seed 000, as written: a role table and a permission per route (here matched by a regex table,
// the work Express's router does for it).
const ROLE_PERMISSIONS = {
  owner: new Set(["contacts:read", "contacts:write", "contacts:delete", "conversations:read", "conversations:reply", "conversations:assign", "conversations:close", "articles:read", "articles:write", "settings:manage"]),
  admin: new Set(["contacts:read", "contacts:write", "conversations:read", "conversations:reply", "conversations:assign", "conversations:close", "articles:read", "articles:write"]),
  agent: new Set(["contacts:read", "conversations:read", "conversations:reply"]),
};
const ROUTES = [
  ["DELETE", /^\/contacts\/[^/]+$/, "contacts:delete"],
  ["GET", /^\/contacts\/[^/]+$/, "contacts:read"],
  ["POST", /^\/conversations\/[^/]+\/parts$/, "conversations:reply"],
];
function handWritten(method, path, user) {
  const role = user?.intercomRole || "agent";
  const route = ROUTES.find(([m, re]) => m === method && re.test(path));
  if (!route) return { status: 404 };
  return ROLE_PERMISSIONS[role]?.has(route[2]) ? { status: 200 } : { status: 403, body: { error: "Forbidden", message: `Missing permission: ${route[2]}`, required: route[2], currentRole: role } };
}

// What a browser sends through an app (Node's req.headers): a dozen headers and a cookie.
const browser = {
  host: "internal.example.com", connection: "keep-alive", accept: "application/json, text/plain, */*",
  "user-agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
  "accept-encoding": "gzip, deflate, br", "accept-language": "en-US,en;q=0.9", cookie: `sid=${"x".repeat(180)}; theme=dark`,
  "x-forwarded-for": "10.1.2.3", "x-forwarded-proto": "https", "x-request-id": "5f1c0e7e-3a0b-4d7e-9d5b-0c1e2f3a4b5c",
  referer: "https://internal.example.com/inbox", "sec-fetch-mode": "cors",
};
const reply = JSON.stringify({ message_type: "comment", type: "admin", admin_id: "u1", body: "hi" });
const cases = (authz) => [
  ["seed 000 hand-written check (allow)", () => handWritten("GET", "/contacts/123", { intercomRole: "agent" }), 200],
  ["claims-only allow", () => authz.authorize({ method: "GET", path: "/contacts/123", claims: { sub: "u1", role: "agent" } }).status, 200],
  ["cached HS256 token, allow", () => authz.authorize({ method: "GET", path: "/contacts/123", headers: { authorization: `Bearer ${token}` } }).status, 200],
  ["cached HS256 token, allow, a browser's 13 headers", () => authz.authorize({ method: "GET", path: "/contacts/123", headers: { ...browser, authorization: `Bearer ${token}` } }).status, 200],
  ["cached HS256 token, deny (403 + deny body)", () => authz.authorize({ method: "DELETE", path: "/contacts/123", headers: { authorization: `Bearer ${token}` } }).status, 403],
  ["body-judged reply, allow", () => authz.authorize({ method: "POST", path: "/conversations/5/reply", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: reply }).status, 200],
  ["cached HS256 token, allow, every field read (toJSON)", () => {
    const d = authz.authorize({ method: "GET", path: "/contacts/123", headers: { authorization: `Bearer ${token}` } });
    return (d.toJSON ? d.toJSON() : d).status;
  }, 200],
];

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; }
function perCall(f) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) f();
  return Number(process.hrtime.bigint() - t0) / CALLS / 1000;
}
const loaded = builds.map(([name, path]) => {
  const { Authorizer } = require(path);
  return cases(new Authorizer({ token: { keys: [{ kid: "k", alg: "HS256", secret }] } }));
});
const rows = [];
for (const [i, [name]] of loaded[0].entries()) {
  const fs = loaded.map((c) => c[i][1]);
  for (const f of fs) {
    const r = f(), got = typeof r === "object" ? r.status : r;
    if (got !== loaded[0][i][2]) throw new Error(`${name}: status ${got}, expected ${loaded[0][i][2]}`);
    for (let k = 0; k < CALLS / 10; k++) f(); // warm
  }
  const per = fs.map(() => []);
  for (let r = 0; r < ROUNDS; r++) fs.forEach((f, b) => per[b].push(perCall(f)));
  rows.push([name, per.map(median)]);
}
const columns = builds.map(([name]) => `µs per call, ${name}`);
console.log(`| call (Node ${process.version}, ${CALLS} warm calls, median of ${ROUNDS}) | ${columns.join(" | ")} |${builds.length > 1 ? " ÷ |" : ""}`);
console.log(`|---|${columns.map(() => "---:").join("|")}|${builds.length > 1 ? "---:|" : ""}`);
for (const [name, us] of rows) {
  const ratio = us.length > 1 ? ` ${(us[0] / us[1]).toFixed(2)} |` : "";
  console.log(`| ${name} | ${us.map((u) => u.toFixed(2)).join(" | ")} |${ratio}`);
}

// The JavaScript side of `authorize`'s boundary (lib.rs and request.rs import it), so that a
// call crosses it as little as it can:
// - the request: `plainRequestText` makes the common request one JSON text, with only the
//   headers the decision reads;
// - the decision (`Decision` in the declarations): `allow`, `status` and `code` are set when it
//   is made; every other field is read from the decision's JSON text the first time one is
//   asked for, so a caller that reads only those three pays for no more. Fields are getters on
//   the prototype; `toJSON()` (what `JSON.stringify` calls) gives them all as a plain object,
//   in the order the Rust side writes them.

// Every field a decision can carry besides `allow`, `status` and `code` (lib.rs, `Out`; a test
// holds the two lists together).
const LAZY = [
  "required", "role", "route", "canonicalPath", "forwardPath", "resourceId", "permissions",
  "grantedByToken", "subject", "email", "message", "reasons", "sensitive", "tokenCached",
  "denyBodyJson", "denyHeaders", "conversationId", "lookedUp", "judgeResponse", "responseGuard",
  "forwardBody",
];

// The fields that make a decision's fields its own (see the constructor).
const OWN = ['"responseGuard":', '"forwardBody":', '"judgeResponse":'];

export class Decision {
  #text;
  #fields;
  #denyBody;

  constructor(allow, status, code, text) {
    this.allow = allow;
    this.status = status;
    this.code = code;
    this.#text = text;
    // What must survive a copy ({ ...decision }, structuredClone) because leaving it out would
    // let more through: the response guard (`judgeResponse` would pass an unjudged answer) and
    // the rewritten search. A decision that carries one has every field as its own.
    if (OWN.some((key) => text.includes(key))) {
      for (const [k, v] of Object.entries(this.#all())) {
        Object.defineProperty(this, k, { value: v, enumerable: true, writable: true, configurable: true });
      }
    }
  }

  // The whole decision, parsed once.
  #all() {
    if (this.#fields === undefined) {
      this.#fields = JSON.parse(this.#text);
      this.#text = undefined;
    }
    return this.#fields;
  }

  // Whether the decision can have that field (`"name":`), without parsing it: a field the text
  // lacks is absent (the Express middleware asks every allowed request for `forwardBody` and
  // `responseGuard`). Inside a JSON string a quote is escaped, so `"name":` there is never a
  // false absence; a false presence only parses.
  #has(key) {
    return this.#fields !== undefined || this.#text.includes(key);
  }

  /** The response to send when denied, as an object (keys in the order of `denyBodyJson`). */
  get denyBody() {
    if (this.#denyBody === undefined && this.denyBodyJson !== undefined) this.#denyBody = JSON.parse(this.denyBodyJson);
    return this.#denyBody;
  }

  /** Every field as a plain object (`JSON.stringify(decision)` writes it). */
  toJSON() {
    const out = { ...this.#all(), allow: this.allow, status: this.status, code: this.code };
    const denyBody = this.denyBody;
    if (denyBody !== undefined) out.denyBody = denyBody;
    return out;
  }

  // What Node's console.log and util.inspect show: every field.
  [Symbol.for("nodejs.util.inspect.custom")](depth, options, inspect) {
    return `Decision ${inspect(this.toJSON(), options)}`;
  }

  static {
    for (const name of LAZY) {
      const key = `"${name}":`;
      Object.defineProperty(this.prototype, name, {
        get() { return this.#has(key) ? this.#all()[name] : undefined; },
        enumerable: true,
        configurable: true,
      });
    }
  }
}

// Called by the module (lib.rs).
export function newDecision(allow, status, code, text) {
  return new Decision(allow, status, code, text);
}

// The request as one JSON text when it is the common kind (a plain object whose `headers` are
// a plain object or absent, whose `body` is absent, a string or a plain object or array, and
// with no `lookup`); `undefined` otherwise, and the module reads it field by field (and names
// what is wrong). Of the headers, only those named in `read` go (lower case: the ones the
// decision reads, as the Envoy filter keeps only those): a browser's dozen headers and cookies
// are not copied and parsed on every call. A header value of the wrong type anywhere goes the
// long way, which names it.
export function plainRequestText(request, read) {
  // A throw here (a getter, a Proxy) must not unwind through the module: the long way names it.
  try {
    return requestText(request, read);
  } catch {
    return undefined;
  }
}

// As `JSON.stringify` sees the request: own enumerable fields, and no `toJSON` of its own.
function requestText(request, read) {
  if (!isPlain(request) || typeof request.toJSON === "function" || request.lookup != null) return undefined;
  const headers = ownField(request, "headers"), body = ownField(request, "body");
  if (body != null && typeof body !== "string" && !isPlain(body) && !Array.isArray(body)) return undefined;
  if (headers == null) return JSON.stringify(request);
  if (!isPlain(headers) || typeof headers.toJSON === "function") return undefined;
  const kept = Object.create(null); // no setter or read-only key of Object.prototype applies
  for (const name of Object.keys(headers)) {
    const v = headers[name];
    if (typeof v !== "string" && v != null && !(Array.isArray(v) && v.every((x) => typeof x === "string"))) return undefined;
    if (read.has(name.toLowerCase())) kept[name] = v;
  }
  return JSON.stringify({ ...request, headers: kept });
}

function ownField(o, key) {
  return Object.prototype.propertyIsEnumerable.call(o, key) ? o[key] : undefined;
}

function isPlain(v) {
  if (v === null || typeof v !== "object") return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

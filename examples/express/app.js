// The Express app of seed 000, with its hand-written `requirePermission` and three-role table
// replaced by intercom-authz: the same policy file as the Envoy filter, the same decisions.
//
//   make js && node examples/express/app.js     (then: curl -H "Authorization: Bearer …" localhost:3000/api/contacts/1)
"use strict";
const path = require("path");
const express = require(require.resolve("express", { paths: [path.join(__dirname, "../../tests/node")] }));
const { authorize } = require("../../dist/js/express.js");

const config = {
  policy: {},
  token: {
    keys: [{ kid: "demo", alg: "HS256", secret: process.env.JWT_SECRET || "demo-secret-change-me-0123456789abcdef" }],
    issuers: ["https://sso.example.com"],
    audiences: ["intercom-authz"],
  },
};

const app = express();
app.use(express.json());
// Every request Express routes under /api (any case, doubled slashes, trailing slash) is judged
// as the Intercom API request after /api: mounting lets Express itself decide what is under it.
app.use("/api", authorize(config));

app.delete("/api/contacts/:id", (req, res) => res.json({ deleted: req.params.id, by: req.authz.subject }));
app.get("/api/contacts/:id", (req, res) => res.json({ id: req.params.id, role: req.authz.role }));
app.post("/api/conversations/:id/parts", (req, res) => res.json({ conversation: req.params.id, action: req.body.message_type }));

if (require.main === module) {
  const port = Number(process.env.PORT || 3000);
  app.listen(port, "127.0.0.1", () => console.log(`example on http://127.0.0.1:${port}`));
}
module.exports = { app, config };

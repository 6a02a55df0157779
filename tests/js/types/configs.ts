// Configurations written every way a project writes them, each passed to the entry points
// (`new Authorizer`, Express's `authorize`, `defineConfig`): inline, in a `const` (its strings
// widened to `string`: the types take them, the constructor checks the values), `as const`,
// `satisfies AuthzConfig`, annotated. Then typos in permission and role names, each an error
// (`@ts-expect-error` fails the run when its line compiles).
import { Authorizer, defineConfig, type AuthzConfig, type CheckedConfig } from "intercom-authz";
import { authorize } from "intercom-authz/express";

// ---- valid, every way ---------------------------------------------------------------------
// examples/express/app.js's shape: a const, `alg` widened to `string`.
const app = {
  policy: {},
  token: {
    keys: [{ kid: "demo", alg: "HS256", secret: "demo-secret" }],
    issuers: ["https://sso.example.com"],
    audiences: ["intercom-authz"],
  },
};
// A policy with every place a permission or a role is named.
const inConst = {
  mode: "dry_run",
  policy: {
    default_role: "tier1",
    mfa: { permissions: ["contacts:delete"] },
    roles: { tier1: { extends: "agent", grant: ["contacts:delete", "tags:*", "Can export lead, user, company data"], revoke: ["conversations:assign"] } },
    routes: [{ method: "GET", path: "/reports/x", permission: ["reports:read", "tags:read"], self_permission: "admins:read" }],
  },
};
const asConst = {
  mode: "dry_run",
  policy: {
    default_role: "tier1",
    mfa: { permissions: ["contacts:delete"] },
    roles: { tier1: { extends: "agent", grant: ["contacts:delete", "tags:*", "*"], revoke: ["conversations:assign"] } },
    routes: [{ method: "GET", path: "/reports/x", permission: "reports:read" }],
  },
  token: { keys: [{ kid: "demo", alg: "HS256", secret: "demo-secret" }], audiences: ["intercom-authz"] },
} as const;
const satisfied = {
  mode: "dry_run",
  policy: { roles: { tier1: { extends: "agent", grant: ["contacts:delete"] } }, routes: [{ method: "GET", path: "/x", permission: "reports:read" }] },
} satisfies AuthzConfig;
const satisfiedAsConst = { policy: { roles: { tier1: { extends: "agent", grant: ["contacts:delete"] } } } } as const satisfies AuthzConfig;
const annotated: AuthzConfig = { policy: { roles: { tier1: { extends: "agent", grant: ["contacts:delete"] } } } };
const annotatedAsConst: AuthzConfig = { policy: { roles: { tier1: { extends: "agent", grant: ["contacts:delete"] } } } } as const;
// A plain AuthzConfig cannot know the policy's roles: any name may be one (defineConfig checks).
const customRole: AuthzConfig = { policy: { roles: { tier1: { extends: "agent" }, tier2: { extends: "tier1" } } } };
const fromJson: AuthzConfig | string = JSON.parse("{}") as unknown as AuthzConfig;

const authorizers = [
  new Authorizer({ mode: "dry_run", policy: { roles: { tier1: { extends: "agent", grant: ["contacts:delete"] } } } }),
  new Authorizer(app), new Authorizer(inConst), new Authorizer(asConst), new Authorizer(satisfied),
  new Authorizer(satisfiedAsConst), new Authorizer(annotated), new Authorizer(annotatedAsConst),
  new Authorizer(customRole), new Authorizer(fromJson), new Authorizer(JSON.parse("{}")), new Authorizer('{"mode":"dry_run"}'),
];
const middlewares = [authorize(app), authorize(inConst), authorize(asConst), authorize(satisfied), authorize(annotated), authorize(fromJson)];

// ---- defineConfig: custom permissions and roles, every way ------------------------------------
const custom = {
  policy: {
    permissions: { "reports:custom": "Custom reports" },
    default_role: "analyst",
    roles: { analyst: { extends: "observer", grant: ["reports:custom", "reports:*"] }, lead: { extends: "analyst" }, agent: { mfa: true } },
    routes: [{ method: "GET", path: "/reports/custom", permission: "reports:custom" }],
  },
};
const checked: CheckedConfig[] = [
  defineConfig({ policy: { permissions: { "reports:custom": "x" }, roles: { analyst: { extends: "observer", grant: ["reports:custom"] }, lead: { extends: "analyst" } } } }),
  defineConfig(custom),
  defineConfig({ ...custom } as const),
  defineConfig({ policy: { permissions: { "reports:custom": "x" }, roles: { a: { grant: ["reports:custom"] } } } } as const),
  defineConfig(app), defineConfig(asConst), defineConfig(satisfied), defineConfig(annotated), defineConfig(customRole),
];
const fromChecked = [new Authorizer(checked[0]!), authorize(checked[1]!)];

// ---- typos in permission names -----------------------------------------------------------------
// @ts-expect-error: `contacts:destroy` is no permission
const typo: AuthzConfig = { policy: { roles: { t1: { grant: ["contacts:destroy"] } } } };
// @ts-expect-error: in `mfa.permissions`
new Authorizer({ policy: { mfa: { permissions: ["contact:delete"] } } });
// @ts-expect-error: in a route's `permission`
new Authorizer({ policy: { routes: [{ method: "GET", path: "/x", permission: "contacts:raed" }] } });
// @ts-expect-error: in `revoke`, as const
new Authorizer({ policy: { roles: { t1: { revoke: ["conversation:assign"] } } } } as const);
// @ts-expect-error: in `grant`, satisfies
const typoSatisfied = { policy: { roles: { t1: { grant: ["tag:*"] } } } } satisfies AuthzConfig;
// @ts-expect-error: in `grant`, through Express
authorize({ policy: { roles: { t1: { grant: ["contacts:destroy"] } } } });
// @ts-expect-error: a custom permission needs `defineConfig` (or `AuthzConfig<"reports:custom">`)
new Authorizer({ policy: { permissions: { "reports:custom": "x" }, roles: { a: { grant: ["reports:custom"] } } } });
// @ts-expect-error: `reports:custm` is neither built in nor declared
defineConfig({ policy: { permissions: { "reports:custom": "x" }, roles: { a: { grant: ["reports:custm"] } } } });
const undeclared = { policy: { permissions: { "reports:custom": "x" }, roles: { a: { grant: ["reports:custm"] } } } } as const;
// @ts-expect-error: the same, as const
defineConfig(undeclared);

// ---- typos in role names: defineConfig knows the policy's roles ------------------------------
// @ts-expect-error: `agnet` is neither built in nor defined
defineConfig({ policy: { roles: { a: { extends: "agnet" } } } });
const agnet = { policy: { roles: { a: { extends: "agnet" } } } } as const;
// @ts-expect-error: the same, as const
defineConfig(agnet);
// @ts-expect-error: `analyts` is not one of the policy's roles
defineConfig({ policy: { roles: { analyst: { extends: "observer" }, lead: { extends: "analyts" } } } });
// @ts-expect-error: in `default_role`
defineConfig({ policy: { roles: { analyst: { extends: "observer" } }, default_role: "analyts" } });
// @ts-expect-error: in `default_role`, no custom role at all
defineConfig({ policy: { default_role: "agnet" } });

// ---- other mistakes ----------------------------------------------------------------------------
// @ts-expect-error: `mode` is "enforce" or "dry_run"
new Authorizer({ mode: "shadow" });
// @ts-expect-error: no such algorithm, as const
new Authorizer({ token: { keys: [{ kid: "k", alg: "HS257", secret: "s" }] } } as const);
const misspelt = { toekn: { header: "x-token" } };
// @ts-expect-error: a field the configuration does not have, even in a const (no excess property check there)
new Authorizer(misspelt);
// @ts-expect-error: a route needs its `path`
new Authorizer({ policy: { routes: [{ method: "GET", permission: "contacts:read" }] } });

export { authorizers, middlewares, checked, fromChecked, typo, typoSatisfied };

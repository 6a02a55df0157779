// How a configuration is checked where it is passed in (`new Authorizer`, Express's
// `authorize`, `defineConfig`), whatever way it was written: inline, in a `const`, `as const`,
// `satisfies AuthzConfig`. The shape and the names are config.d.ts's (generated); this file is
// written by hand. One copy for the node and web builds, so that a `CheckedConfig` from either
// is one type.
import type { AuthzConfig } from "./config.js";

declare const checked: unique symbol;
/** A configuration `defineConfig` checked, custom permissions and roles included. */
export type CheckedConfig = AuthzConfig<string> & { readonly [checked]: true };

/** The custom permissions a configuration declares (the keys of `policy.permissions`). */
export type CustomPermissionsOf<V> =
  V extends { readonly policy?: { readonly permissions?: infer P } } ? keyof NonNullable<P> & string : never;

/** The roles a configuration defines or adjusts (the keys of `policy.roles`). */
export type RolesOf<V> =
  V extends { readonly policy?: { readonly roles?: infer P } } ? keyof NonNullable<P> & string : never;

/**
 * `V`, a configuration (or a part of one) as TypeScript inferred it, checked against `S`, what
 * it may be: the type `V` must be assignable to. A literal must be one `S` takes; a string
 * widened to `string` (a `const` without `as const`: `{ mode: "enforce" }` is `{ mode: string }`)
 * passes wherever `S` takes a string, its value unknown here (the constructor checks it at run
 * time); arrays may be readonly; a field `S` does not have is an error (`never`).
 */
export type Checked<V, S> =
  0 extends 1 & V ? V // any: nothing to check
  : unknown extends S ? V // a JWK, a directory: any JSON
  : V extends string ? (string extends V ? ([Extract<S, string>] extends [never] ? S : V) : S)
  : V extends readonly unknown[] ? CheckedArray<V, S>
  : V extends object ? CheckedObject<V, S>
  : S;

/** The elements of `S`'s array types. */
type ElementOf<S> = S extends readonly (infer E)[] ? E : never;

/** An array (or a tuple, `as const`) checked element by element. */
type CheckedArray<V extends readonly unknown[], S, E = ElementOf<S>> =
  [E] extends [never] ? S : { readonly [K in keyof V]: Checked<V[K], E> };

/** `S`'s object types (arrays apart). */
type ObjectOf<S> = Exclude<Extract<S, object>, readonly unknown[]>;

/** What field `K` of object type `O` may be: by name, else by `O`'s index signature, else nothing. */
type PropertyOf<O, K> = K extends keyof O ? O[K] : string extends keyof O ? O[string & keyof O] : never;

/** The fields `O` requires (a route's `method`, `path`, `permission`). */
type RequiredKeys<O> = { [K in keyof O]-?: {} extends Pick<O, K> ? never : K }[keyof O];

/** An object checked field by field, with the fields `S` requires that `V` lacks. */
type CheckedObject<V, S, O = ObjectOf<S>> =
  [O] extends [never] ? S
  : { [K in keyof V]: Checked<V[K], PropertyOf<O, K>> } & Pick<O, Exclude<RequiredKeys<O>, keyof V>>;

/**
 * What `new Authorizer` and Express's `authorize` take: a JSON text, a `CheckedConfig`, or a
 * configuration checked as an `AuthzConfig`: permissions built-in ones (custom ones need
 * `defineConfig`), a role any name (`extends` may name a role the policy defines).
 */
export type ConfigArg<V> = V extends string ? string : V extends CheckedConfig ? V : Checked<V, AuthzConfig>;

/**
 * What `defineConfig` takes: a configuration whose permissions are built-in ones or those
 * `policy.permissions` declares, and whose roles (`extends`, `default_role`) are built-in ones
 * or those `policy.roles` defines: `extends: "agnet"` is an error here, not in `AuthzConfig`.
 */
export type DefineConfigArg<V> = Checked<V, AuthzConfig<CustomPermissionsOf<V>, RolesOf<V>>>;

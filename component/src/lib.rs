//! The WebAssembly component front-end (crate `intercom-authz-component`, `wasm32-wasip2`, wit-bindgen):
//! the world of `wit/intercom-authz.wit`. `make component` writes
//! `dist/intercom_authz.component.wasm`.

use std::format;
use std::string::{String, ToString};

use intercom_authz::authorizer::{Authorizer as Core, Outcome, WholeRequest};
use intercom_authz::eval::Code;

#[allow(
    missing_docs,
    unsafe_code,
    clippy::all,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod bindings {
    wit_bindgen::generate!({ path: "../wit", world: "intercom-authz" });
}

use bindings::exports::intercom::authz::authz::{
    Decision, Guest, GuestAuthorizer, Redacted, Request, Response, ResponseGuard, Verdict,
};
use intercom_authz::guard::{HandedGuard, HttpResponse, LookupAnswer, ResponseVerdict};

struct Component;

/// The `authorizer` resource.
pub struct AuthorizerResource {
    core: Core,
}

impl Guest for Component {
    type Authorizer = AuthorizerResource;
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl GuestAuthorizer for AuthorizerResource {
    fn create(
        config_json: String,
    ) -> Result<bindings::exports::intercom::authz::authz::Authorizer, String> {
        let mut core =
            Core::from_json_embedded(&config_json, "the component").map_err(|e| e.to_string())?;
        core.set_explain(true);
        Ok(bindings::exports::intercom::authz::authz::Authorizer::new(
            AuthorizerResource { core },
        ))
    }

    fn credential_header(&self) -> String {
        self.core.credential_header()
    }

    fn authorize(&self, req: Request) -> Result<Decision, String> {
        intercom_authz::authorizer::check_caller_method(&req.method)?;
        let headers = req.headers.as_deref().unwrap_or_default();
        let find = |name: &str| {
            headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value.as_str())
        };
        let claims = match req.claims_json.as_deref() {
            Some(c) => Some(
                serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(c.as_bytes())
                    .map_err(|e| {
                        format!("invalid request: `claims-json` is not a JSON object: {e}")
                    })?,
            ),
            None => None,
        };
        let out = self
            .core
            .authorize_whole(
                &WholeRequest {
                    method: &req.method,
                    path: &req.path,
                    credential: find(&self.core.credential_header()),
                    has_token_header: find(&self.core.config().token.header).is_some(),
                    content_type: find("content-type"),
                    version: find("intercom-version"),
                    token: req.token.as_deref(),
                    claims: claims.as_ref(),
                    body: req.body.as_deref(),
                    body_unread: false,
                    source_ip: req
                        .source_ip
                        .as_deref()
                        .and_then(intercom_authz::net::parse_source),
                    lookup: req.lookup.as_ref().map(|l| LookupAnswer {
                        status: l.status,
                        body: &l.body,
                    }),
                },
                req.now.unwrap_or_else(now),
            )
            .unless_body_forwarded(req.forwards_body.unwrap_or(false));
        let empty_list = req.headers.as_ref().is_some_and(|h| h.is_empty());
        let missing = out.code_id == Code::MissingToken;
        let mut d = decision_of(out, req.request_id.as_deref());
        if missing && empty_list {
            // For the developer, not in the deny body: from jco, a plain object for `headers`
            // arrives as an empty list.
            d.message.push_str(
                " (no headers were passed: `headers` is a list of `{ name, value }` records)",
            );
        }
        Ok(d)
    }

    fn judge_response(&self, decision: Decision, response: Response) -> Result<Verdict, String> {
        let Some(g) = decision.response_guard else {
            return Ok(Verdict::Pass);
        };
        let access = serde_json::from_value(serde_json::Value::String(g.access))
            .map_err(|e| format!("invalid response-guard: `access`: {e}"))?;
        let nobody = serde_json::from_value(serde_json::Value::String(g.nobody))
            .map_err(|e| format!("invalid response-guard: `nobody`: {e}"))?;
        let handed = HandedGuard {
            kind: g.kind,
            access,
            admin: g.admin,
            teams: g.teams,
            nobody,
        };
        let out = Outcome::handed_back(handed.guard()?, decision.role, decision.route);
        let resp = HttpResponse {
            status: response.status,
            content_type: response.content_type.as_deref().map(str::as_bytes),
            content_encoding: response.content_encoding.as_deref().map(str::as_bytes),
            body: &response.body,
        };
        Ok(match self.core.judge_response(&out, &resp) {
            ResponseVerdict::Pass => Verdict::Pass,
            ResponseVerdict::Redacted { body, count } => Verdict::Redact(Redacted {
                body,
                count: u32::try_from(count).unwrap_or(u32::MAX),
            }),
            ResponseVerdict::Deny(d) => {
                Verdict::Deny(decision_of(*d, response.request_id.as_deref()))
            }
        })
    }
}

/// The WIT record of an outcome.
fn decision_of(out: Outcome, request_id: Option<&str>) -> Decision {
    let deny_body = (!out.allow).then(|| out.deny_body(request_id));
    let www_authenticate = out.www_authenticate();
    let response_guard = out.guard.as_ref().map(|g| {
        let h = HandedGuard::from(g);
        ResponseGuard {
            kind: h.kind,
            access: h.access.as_str().into(),
            admin: h.admin,
            teams: h.teams,
            nobody: h.nobody.as_str().into(),
        }
    });
    Decision {
        allow: out.allow,
        status: out.status,
        code: out.code.to_string(),
        required: out.required,
        role: out.role,
        route: out.route,
        canonical_path: out.canonical_path,
        forward_path: out.forward_path,
        resource_id: out.resource_id,
        permissions: out.permissions,
        message: out.message,
        reasons: out.reasons,
        sensitive: out.sensitive,
        deny_body,
        www_authenticate,
        conversation_id: out.conversation_id,
        looked_up: out.looked_up,
        response_guard,
        forward_body: out.forward_body,
    }
}

#[allow(
    unsafe_code,
    reason = "wit-bindgen's export macro defines the component's entry points"
)]
mod export {
    use super::{bindings, Component};
    bindings::export!(Component with_types_in bindings);
}

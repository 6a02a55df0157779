//! Conversation access in the JS package: the lookup's answer in `authorize`, and
//! `judgeResponse` for an allowed read's response (see [`intercom_authz::guard`]).

use std::format;
use std::string::String;
use std::vec::Vec;

use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::request::{body_bytes, check_object, get, read_headers};
use super::{decision_output, err, Authorizer};
use super::{DecisionOutput, ResponseInput, VerdictOutput};
use intercom_authz::authorizer::Outcome;
use intercom_authz::guard::{HandedGuard, HttpResponse, ResponseVerdict};

/// A request's `lookup`: its status (`null`: no answer) and body bytes.
pub(super) type Answer = (Option<u16>, Option<Vec<u8>>);

/// The request's `lookup`, if any: `{ status, body }`.
pub(super) fn lookup_answer(request: &JsValue) -> Result<Option<Answer>, JsError> {
    let l = js_sys::Reflect::get(request, &JsValue::from_str("lookup"))
        .map_err(|_| err("invalid request: expected an object"))?;
    if l.is_undefined() || l.is_null() {
        return Ok(None);
    }
    check_object("request: `lookup`", &l, &["status", "body"])?;
    let status = status_of(&l, true, "request: `lookup.status`")?;
    let (body, _) = body_bytes(&l, "body")?;
    Ok(Some((status, body)))
}

/// `status`: an integer from 100 to 599 (or `null`, when `nullable`).
fn status_of(v: &JsValue, nullable: bool, what: &str) -> Result<Option<u16>, JsError> {
    let s = js_sys::Reflect::get(v, &JsValue::from_str("status"))
        .map_err(|_| err(format!("invalid {what}")))?;
    if nullable && (s.is_null() || s.is_undefined()) {
        return Ok(None);
    }
    match s.as_f64() {
        Some(n) if n.fract() == 0.0 && (100.0..600.0).contains(&n) => Ok(Some(n as u16)),
        _ => Err(err(format!(
            "invalid {what}: expected an HTTP status{}",
            if nullable { " or null" } else { "" }
        ))),
    }
}

/// A string field of the decision handed back.
fn text(decision: &JsValue, field: &str) -> Option<String> {
    js_sys::Reflect::get(decision, &JsValue::from_str(field))
        .ok()
        .and_then(|v| v.as_string())
}

/// The decision handed back: its guard (none: nothing to judge), role and route.
fn handed_back(decision: &JsValue) -> Result<Option<Outcome>, JsError> {
    if !decision.is_object() {
        return Err(err(
            "invalid decision: expected the object `authorize` returned",
        ));
    }
    let g = js_sys::Reflect::get(decision, &JsValue::from_str("responseGuard"))
        .map_err(|_| err("invalid decision"))?;
    if g.is_undefined() || g.is_null() {
        return Ok(None);
    }
    let handed: HandedGuard = serde_wasm_bindgen::from_value(g)
        .map_err(|e| err(format!("invalid decision: `responseGuard`: {e}")))?;
    let guard = handed.guard().map_err(err)?;
    let out = Outcome::handed_back(guard, text(decision, "role"), text(decision, "route"));
    Ok(Some(out))
}

#[derive(Serialize)]
#[serde(tag = "action", rename_all = "lowercase")]
enum Verdict {
    Pass,
    Redact { body: String, redacted: usize },
}

#[wasm_bindgen]
impl Authorizer {
    /// Judges the upstream's response to a read `decision` allowed on condition
    /// (`responseGuard`): forward it, forward a redacted body, or answer a denial. A decision
    /// without a guard passes. Throws on a caller's mistake (a response without a status).
    #[wasm_bindgen(js_name = judgeResponse)]
    pub fn judge_response(
        &self,
        decision: DecisionOutput,
        response: ResponseInput,
    ) -> Result<VerdictOutput, JsError> {
        let decision: JsValue = decision.into();
        let response: JsValue = response.into();
        let fields = ["status", "headers", "body", "requestId"];
        check_object("response", &response, &fields)?;
        let status = status_of(&response, false, "response: `status`")?.unwrap_or(0);
        let Some(out) = handed_back(&decision)? else {
            return verdict(&Verdict::Pass);
        };
        let headers = read_headers(&get(&response, "headers"), "response")?;
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_bytes())
        };
        let (body, _) = body_bytes(&response, "body")?;
        let resp = HttpResponse {
            status,
            content_type: find("content-type"),
            content_encoding: find("content-encoding"),
            body: body.as_deref().unwrap_or_default(),
        };
        match self.core.judge_response(&out, &resp) {
            ResponseVerdict::Pass => verdict(&Verdict::Pass),
            ResponseVerdict::Redacted { body, count } => verdict(&Verdict::Redact {
                body: String::from_utf8_lossy(&body).into_owned(),
                redacted: count,
            }),
            ResponseVerdict::Deny(d) => denial(*d, text(&response, "requestId").as_deref()),
        }
    }
}

fn verdict(v: &Verdict) -> Result<VerdictOutput, JsError> {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    let out = v
        .serialize(&ser)
        .map_err(|e| err(format!("cannot build the verdict: {e}")))?;
    Ok(out.unchecked_into())
}

/// `{ action: "deny", decision }`.
fn denial(out: Outcome, request_id: Option<&str>) -> Result<VerdictOutput, JsError> {
    let d: JsValue = decision_output(out, request_id)?.into();
    let o = js_sys::Object::new();
    let set = |k: &str, v: &JsValue| {
        js_sys::Reflect::set(&o, &JsValue::from_str(k), v)
            .map_err(|_| err("cannot build the verdict"))
    };
    set("action", &JsValue::from_str("deny"))?;
    set("decision", &d)?;
    Ok(JsValue::from(o).unchecked_into())
}

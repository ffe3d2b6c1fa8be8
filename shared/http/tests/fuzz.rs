//! Property tests over every input the HTTP side takes from outside: JSON
//! bodies, query strings and path parameters of every REST route,
//! pagination cursors (random and mutated real ones), Twilio callback
//! forms (signed and not) and WebSocket client messages. Whatever comes in,
//! nothing panics, nothing answers 5xx, and every refusal is a 4xx with the
//! `{"error":{"code","message"}}` shape (an `error` reply on the WebSocket).
//! Each test prints how many inputs it tried; the README records them.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration as StdDuration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Duration;
use common::{json_body, Harness, NowUtc};
use ibrat_domain::{Call, CallId, CallStatus, Lead, LeadStatus, Role, User};
use ibrat_ports::WriteOp;
use ibrat_services::auth::{jwt, Actor};
use ibrat_services::realtime::{client, session};
use ibrat_services::repo;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{json, Value};

// ------------------------------------------------------------ the inputs

/// Words the handlers give meaning to, so random inputs reach past the
/// first check: enum values, dates (the extremes chrono allows among
/// them), numbers, phones, ids, tokens and injection attempts.
const WORDS: &[&str] = &[
    "admin",
    "salesperson",
    "available",
    "away",
    "offline",
    "interested",
    "not_interested",
    "wrong_number",
    "do_not_call",
    "call_back",
    "connected",
    "abandoned",
    "no_answer",
    "busy",
    "failed",
    "machine",
    "completed",
    "queued",
    "pending",
    "retry_scheduled",
    "high",
    "medium",
    "low",
    "urgent",
    "true",
    "false",
    "null",
    "0",
    "-1",
    "1",
    "100",
    "101",
    "1000000",
    "18446744073709551615",
    "-9223372036854775808",
    "1e308",
    "NaN",
    "2026-11-24",
    "2026-11-24T06:00:00Z",
    "2026-02-30T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "+262143-12-31T23:59:59Z",
    "-262143-01-01T00:00:00Z",
    "+262142-12-31",
    "-262143-01-01",
    "0000-00-00",
    "+998901234567",
    "901234567",
    "+1",
    "++998",
    "998901234567",
    "Asia/Tashkent",
    "Mars/Olympus",
    "UTC",
    "00000000-0000-0000-0000-000000000000",
    "01936f5e-8a3b-7cc0-9c5b-111111111111",
    "ld_x",
    "../../etc/passwd",
    "%00",
    "\u{0}",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "\u{202e}",
    "🙂",
    "a@b.c",
    "not-an-email",
    "",
    " ",
    "08:00",
    "21:00",
    "25:61",
    "Mon",
    "Sun",
    "Funday",
];

/// Field names the bodies and queries use, plus a few nobody uses.
const FIELDS: &[&str] = &[
    "email",
    "password",
    "name",
    "role",
    "phone",
    "refresh_token",
    "current_password",
    "new_password",
    "lead_id",
    "outcome",
    "callback_at",
    "notes",
    "reason",
    "priority",
    "timezone",
    "custom",
    "do_not_call",
    "ids",
    "active",
    "availability",
    "from",
    "to",
    "salesperson_id",
    "status",
    "q",
    "limit",
    "cursor",
    "calling_window",
    "pacing",
    "retry",
    "start",
    "end",
    "days",
    "ratio",
    "calls_per_second",
    "unknown",
    "__proto__",
    "",
];

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(WORDS).prop_map(str::to_owned),
        3 => "\\PC{0,24}",
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => (0usize..40_000).prop_map(|n| "x".repeat(n)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![0.5, -0.0, 1e300, -1e300, f64::MAX, f64::MIN_POSITIVE]).prop_map(Value::from),
        text().prop_map(Value::from),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FIELDS), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())),
        ]
    })
}

/// A change to a valid body: set a field (known or not) or remove one.
#[derive(Debug, Clone)]
enum Edit {
    Set(String, Value),
    Remove(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        3 => (prop::sample::select(FIELDS).prop_map(str::to_owned), value()).prop_map(|(k, v)| Edit::Set(k, v)),
        1 => any::<usize>().prop_map(Edit::Remove),
    ];
    prop::collection::vec(edit, 0..4)
}

/// What a request carries as its body.
#[derive(Debug, Clone)]
enum BodyInput {
    /// The route's valid body with some edits.
    Edited(Vec<Edit>),
    /// Any JSON at all.
    Json(Value),
    /// Bytes that are probably not JSON, sent as JSON.
    Raw(Vec<u8>),
    /// A valid body under another content type.
    WrongType,
}

fn body_input() -> impl Strategy<Value = BodyInput> {
    prop_oneof![
        6 => edits().prop_map(BodyInput::Edited),
        2 => value().prop_map(BodyInput::Json),
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(BodyInput::Raw),
        1 => Just(BodyInput::WrongType),
    ]
}

/// A path parameter: a fixture's id, or anything.
#[derive(Debug, Clone)]
enum PathParam {
    Fixture(usize),
    Text(String),
}

fn path_param() -> impl Strategy<Value = PathParam> {
    prop_oneof![2 => any::<usize>().prop_map(PathParam::Fixture), 1 => text().prop_map(PathParam::Text)]
}

/// A query string: pairs (encoded), or raw text as it is.
#[derive(Debug, Clone)]
enum QueryInput {
    Pairs(Vec<(String, String)>),
    Raw(String),
}

fn query_input() -> impl Strategy<Value = QueryInput> {
    let key = prop_oneof![4 => prop::sample::select(FIELDS).prop_map(str::to_owned), 1 => "\\PC{0,8}"];
    prop_oneof![
        5 => prop::collection::vec((key, text()), 0..4).prop_map(QueryInput::Pairs),
        1 => "[%&=+a-z0-9;#]{0,40}".prop_map(QueryInput::Raw),
    ]
}

/// Who sends the request.
#[derive(Debug, Clone, Copy)]
enum Caller {
    Admin,
    Salesperson,
    Nobody,
    Expired,
    Forged,
}

fn caller() -> impl Strategy<Value = Caller> {
    prop_oneof![
        8 => Just(Caller::Admin),
        4 => Just(Caller::Salesperson),
        1 => Just(Caller::Nobody),
        1 => Just(Caller::Expired),
        1 => Just(Caller::Forged),
    ]
}

/// One request to one route.
#[derive(Debug, Clone)]
struct Input {
    route: usize,
    caller: Caller,
    param: PathParam,
    query: QueryInput,
    body: BodyInput,
}

fn input() -> impl Strategy<Value = Input> {
    (0..ROUTES.len(), caller(), path_param(), query_input(), body_input())
        .prop_map(|(route, caller, param, query, body)| Input { route, caller, param, query, body })
}

// ------------------------------------------------------------ the routes

/// Which valid body a route takes (edited by the fuzzer).
#[derive(Debug, Clone, Copy)]
enum Template {
    None,
    Login,
    Refresh,
    Profile,
    Password,
    Register,
    UserPatch,
    Availability,
    NewLead,
    LeadPatch,
    BulkPriority,
    BulkIds,
    Initiate,
    Disposition,
    Dnc,
    Settings,
}

/// Every JSON route of the REST API: method, path (`{}` is the parameter),
/// body. The CSV upload is fuzzed with the CSV reader (services' tests).
const ROUTES: &[(&str, &str, Template)] = &[
    ("GET", "/api/health", Template::None),
    ("POST", "/api/auth/login", Template::Login),
    ("POST", "/api/auth/refresh", Template::Refresh),
    ("POST", "/api/auth/logout", Template::Refresh),
    ("GET", "/api/auth/profile", Template::None),
    ("PATCH", "/api/auth/profile", Template::Profile),
    ("POST", "/api/auth/password", Template::Password),
    ("POST", "/api/auth/register", Template::Register),
    ("GET", "/api/users", Template::None),
    ("GET", "/api/users/{}", Template::None),
    ("PATCH", "/api/users/{}", Template::UserPatch),
    ("POST", "/api/users/{}/deactivate", Template::None),
    ("GET", "/api/users/{}/stats", Template::None),
    ("PUT", "/api/users/{}/availability", Template::Availability),
    ("GET", "/api/leads", Template::None),
    ("POST", "/api/leads", Template::NewLead),
    ("GET", "/api/leads/stats/summary", Template::None),
    ("GET", "/api/leads/export", Template::None),
    ("POST", "/api/leads/bulk/priority", Template::BulkPriority),
    ("POST", "/api/leads/bulk/requeue", Template::BulkIds),
    ("GET", "/api/leads/{}", Template::None),
    ("PATCH", "/api/leads/{}", Template::LeadPatch),
    ("DELETE", "/api/leads/{}", Template::None),
    ("GET", "/api/calls", Template::None),
    ("POST", "/api/calls/initiate", Template::Initiate),
    ("GET", "/api/calls/export", Template::None),
    ("GET", "/api/calls/{}", Template::None),
    ("POST", "/api/calls/{}/disposition", Template::Disposition),
    ("GET", "/api/dnc", Template::None),
    ("POST", "/api/dnc", Template::Dnc),
    ("DELETE", "/api/dnc/{}", Template::None),
    ("GET", "/api/settings", Template::None),
    ("PUT", "/api/settings", Template::Settings),
    ("GET", "/api/imports", Template::None),
    ("GET", "/api/imports/{}", Template::None),
    ("GET", "/api/imports/{}/errors.csv", Template::None),
    ("GET", "/api/no/such/route", Template::None),
];

// ------------------------------------------------------------ the system

/// A system with an admin, a salesperson, leads, a connected and a
/// ringing call, and tokens for them.
struct Fixture {
    h: Harness,
    admin: User,
    salesperson: User,
    admin_token: String,
    sp_token: String,
    refresh_token: String,
    ids: Vec<String>,
    settings: Value,
}

async fn fixture() -> Fixture {
    let h = Harness::new();
    let admin = h.user("admin@fuzz.test", Role::Admin).await;
    let salesperson = h.user("sp@fuzz.test", Role::Salesperson).await;
    let lead = h.lead("+998901234567", LeadStatus::Completed, Some(&salesperson.id)).await;
    let queued = h.lead("+998901234568", LeadStatus::Queued, None).await;
    let ringing_lead = h.lead("+998901234569", LeadStatus::Ringing, None).await;
    let call = h.connected_call(&lead, &salesperson.id).await;
    let ringing = ringing_call(&h, &ringing_lead).await;
    let admin_token = h.token(&admin);
    let sp_token = h.token(&salesperson);
    let refresh_token = h.session(&admin).await.tokens.refresh_token;
    let (_, settings) = h.call("GET", "/api/settings", Some(&admin_token), None).await;
    let ids = vec![
        admin.id.to_string(),
        salesperson.id.to_string(),
        lead.id.to_string(),
        queued.id.to_string(),
        call.id.to_string(),
        ringing.id.to_string(),
        "+998901234567".into(),
    ];
    Fixture { h, admin, salesperson, admin_token, sp_token, refresh_token, ids, settings }
}

/// A call Twilio reports ringing, stored as the dialer leaves it.
async fn ringing_call(h: &Harness, lead: &Lead) -> Call {
    let mut call =
        ibrat_testkit::call(lead, CallStatus::Ringing, h.clock.now_utc()).sid(&format!("CA{}", "2".repeat(32))).build();
    call.last_sequence = Some(1);
    let ops: Vec<WriteOp> = vec![repo::calls::create_op(&call)];
    h.deps.store.transact_write(ops).await.expect("call stored");
    call
}

impl Fixture {
    fn template(&self, t: Template) -> Value {
        let lead = &self.ids[2];
        match t {
            Template::None => Value::Null,
            Template::Login => json!({ "email": "admin@fuzz.test", "password": common::PASSWORD }),
            Template::Refresh => json!({ "refresh_token": self.refresh_token }),
            Template::Profile => json!({ "name": "New Name", "phone": "+998901112233" }),
            Template::Password => {
                json!({ "current_password": common::PASSWORD, "new_password": "another-long-password" })
            }
            Template::Register => json!({ "email": "new@fuzz.test", "password": "long-enough-pw", "name": "New",
                "role": "salesperson", "phone": "+998901112244" }),
            Template::UserPatch => json!({ "name": "Renamed", "role": "salesperson", "active": true }),
            Template::Availability => json!({ "availability": "available" }),
            Template::NewLead => json!({ "name": "Lead", "phone": "+998907654321", "priority": "high",
                "timezone": "Asia/Tashkent", "notes": "n", "custom": { "k": "v" } }),
            Template::LeadPatch => json!({ "priority": "low", "notes": "x", "do_not_call": false }),
            Template::BulkPriority => json!({ "ids": [lead], "priority": "high" }),
            Template::BulkIds => json!({ "ids": [lead] }),
            Template::Initiate => json!({ "lead_id": self.ids[3] }),
            Template::Disposition => json!({ "outcome": "call_back", "callback_at": "2026-11-25T06:00:00Z",
                "notes": "n" }),
            Template::Dnc => json!({ "phone": "+998909999999", "reason": "asked" }),
            Template::Settings => self.settings.clone(),
        }
    }

    fn token(&self, caller: Caller) -> Option<String> {
        let secret = self.h.secret();
        match caller {
            Caller::Admin => Some(self.admin_token.clone()),
            Caller::Salesperson => Some(self.sp_token.clone()),
            Caller::Nobody => None,
            Caller::Expired => {
                let past = self.h.clock.now_utc() - Duration::hours(2);
                Some(jwt::issue(secret, &self.admin.id, Role::Admin, past, StdDuration::from_secs(60)).unwrap().0)
            }
            Caller::Forged => {
                let now = self.h.clock.now_utc();
                let token = jwt::issue(
                    b"another-secret-another-secret-xx",
                    &self.salesperson.id,
                    Role::Admin,
                    now,
                    StdDuration::from_secs(600),
                );
                Some(token.unwrap().0)
            }
        }
    }

    fn request(&self, input: &Input) -> (String, Request<Body>) {
        let (method, path, template) = ROUTES[input.route];
        let param = match &input.param {
            PathParam::Fixture(i) => self.ids[i % self.ids.len()].clone(),
            PathParam::Text(t) => t.clone(),
        };
        let mut uri = path.replace("{}", &encode(&param));
        match &input.query {
            QueryInput::Pairs(pairs) if !pairs.is_empty() => {
                uri.push('?');
                uri.push_str(&serde_urlencoded::to_string(pairs).unwrap());
            }
            QueryInput::Raw(raw) if !raw.is_empty() => {
                uri.push('?');
                uri.push_str(&raw.replace('#', "%23"));
            }
            _ => {}
        }
        // No HTTP server takes a URI this long (hyper answers 414 before any
        // router runs, and `http::Uri` refuses it): keep the first 8 KiB.
        if uri.len() > MAX_URI {
            let mut end = MAX_URI;
            while !uri.is_char_boundary(end) {
                end -= 1;
            }
            uri.truncate(end);
        }
        let mut b = Request::builder().method(method).uri(&uri);
        if let Some(t) = self.token(input.caller) {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        let base = self.template(template);
        let (content_type, bytes) = match (&input.body, template) {
            (_, Template::None) if method == "GET" || method == "DELETE" => (None, Vec::new()),
            (BodyInput::Edited(edits), _) => (Some("application/json"), edited(base, edits).to_string().into_bytes()),
            (BodyInput::Json(v), _) => (Some("application/json"), v.to_string().into_bytes()),
            (BodyInput::Raw(raw), _) => (Some("application/json"), raw.clone()),
            (BodyInput::WrongType, _) => (Some("text/plain"), base.to_string().into_bytes()),
        };
        if let Some(ct) = content_type {
            b = b.header("content-type", ct);
        }
        (format!("{method} {uri}"), b.body(Body::from(bytes)).expect("a request"))
    }
}

/// The longest request target the REST fuzz sends.
const MAX_URI: usize = 8 * 1024;

fn edited(mut base: Value, edits: &[Edit]) -> Value {
    for edit in edits {
        match (edit, &mut base) {
            (Edit::Set(k, v), Value::Object(map)) => {
                map.insert(k.clone(), v.clone());
            }
            (Edit::Remove(i), Value::Object(map)) if !map.is_empty() => {
                let key = map.keys().nth(i % map.len()).cloned().unwrap_or_default();
                map.remove(&key);
            }
            (Edit::Set(k, v), other) => *other = json!({ k.clone(): v.clone() }),
            _ => {}
        }
    }
    base
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

// ------------------------------------------------------------ the checks

/// Counts of what a test tried, printed at its end.
#[derive(Default)]
struct Tally {
    inputs: AtomicU64,
    statuses: Mutex<BTreeMap<u16, u64>>,
}

impl Tally {
    fn count(&self, status: u16) {
        self.inputs.fetch_add(1, Ordering::Relaxed);
        *self.statuses.lock().unwrap().entry(status).or_default() += 1;
    }

    fn report(&self, what: &str) {
        println!(
            "fuzz {what}: {} inputs, statuses {:?}",
            self.inputs.load(Ordering::Relaxed),
            self.statuses.lock().unwrap()
        );
    }
}

/// A response is a success, or a 4xx in the error shape; never a 5xx.
async fn check_response(label: &str, res: axum::http::Response<Body>, tally: &Tally) -> Result<(), TestCaseError> {
    let status = res.status();
    tally.count(status.as_u16());
    let body = json_body(res).await;
    prop_assert!(!status.is_server_error(), "{label} answered {status}: {body}");
    if status.is_client_error() {
        let code = body["error"]["code"].as_str().unwrap_or("");
        let message = body["error"]["message"].as_str().unwrap_or("");
        prop_assert!(
            !code.is_empty() && !message.is_empty(),
            "{label} refused ({status}) without the error shape: {body}"
        );
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(RunnerConfig { cases, failure_persistence: None, ..RunnerConfig::default() })
}

/// Requests per generated case (each case starts from a fresh fixture, so
/// later requests meet the state earlier ones left).
const REQUESTS_PER_CASE: usize = 6;

#[test]
fn rest_api_refuses_every_bad_body_query_and_path_with_a_4xx() {
    let rt = runtime();
    let tally = Tally::default();
    let strategy = prop::collection::vec(input(), REQUESTS_PER_CASE);
    runner(250)
        .run(&strategy, |inputs| {
            rt.block_on(async {
                let f = fixture().await;
                for input in &inputs {
                    let (label, req) = f.request(input);
                    let res = f.h.send(req).await;
                    check_response(&label, res, &tally).await?;
                }
                Ok(())
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.report("REST bodies, queries and paths");
}

/// Cursors from real pages, then cut, flipped, extended or replaced.
#[derive(Debug, Clone)]
enum CursorInput {
    Real { flip: Option<(usize, u8)>, cut: Option<usize>, append: String },
    Any(String),
}

fn cursor_input() -> impl Strategy<Value = CursorInput> {
    prop_oneof![
        3 => (prop::option::of((any::<usize>(), any::<u8>())), prop::option::of(any::<usize>()), "[A-Za-z0-9_=-]{0,6}")
            .prop_map(|(flip, cut, append)| CursorInput::Real { flip, cut, append }),
        1 => "[A-Za-z0-9_=+/-]{0,80}".prop_map(CursorInput::Any),
        1 => text().prop_map(CursorInput::Any),
    ]
}

#[test]
fn pagination_cursors_that_were_tampered_with_are_refused_with_a_4xx() {
    let rt = runtime();
    let tally = Tally::default();
    let lists = ["/api/leads", "/api/calls", "/api/users", "/api/dnc", "/api/imports"];
    let (f, real) = rt.block_on(async {
        let f = fixture().await;
        for i in 0..4 {
            let (s, _) = f
                .h
                .call("POST", "/api/dnc", Some(&f.admin_token), Some(json!({ "phone": format!("+99890555000{i}") })))
                .await;
            assert!(s.is_success(), "{s}");
        }
        let mut real = Vec::new();
        for list in lists {
            let (s, page) = f.h.call("GET", &format!("{list}?limit=1"), Some(&f.admin_token), None).await;
            assert_eq!(s, StatusCode::OK, "{list}: {page}");
            real.push(page["next_cursor"].as_str().unwrap_or("").to_owned());
        }
        (f, real)
    });
    assert!(real.iter().filter(|c| !c.is_empty()).count() >= 3, "real cursors to tamper with: {real:?}");
    runner(600)
        .run(&(0..lists.len(), cursor_input(), caller()), |(list, cursor, caller)| {
            let cursor = match cursor {
                CursorInput::Any(s) => s,
                CursorInput::Real { flip, cut, append } => {
                    let mut bytes = real[list].clone().into_bytes();
                    if let (Some((i, b)), false) = (flip, bytes.is_empty()) {
                        let at = i % bytes.len();
                        bytes[at] = b;
                    }
                    if let Some(c) = cut {
                        bytes.truncate(c % (bytes.len() + 1));
                    }
                    bytes.extend_from_slice(append.as_bytes());
                    String::from_utf8_lossy(&bytes).into_owned()
                }
            };
            let uri = format!("{}?limit=2&cursor={}", lists[list], encode(&cursor));
            let mut b = Request::builder().method("GET").uri(&uri);
            if let Some(t) = f.token(caller) {
                b = b.header("authorization", format!("Bearer {t}"));
            }
            rt.block_on(async {
                let res = f.h.send(b.body(Body::empty()).unwrap()).await;
                check_response(&uri, res, &tally).await
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.report("pagination cursors");
}

// ------------------------------------------------------------ Twilio

const TWILIO_PARAMS: &[&str] = &[
    "CallSid",
    "AccountSid",
    "From",
    "To",
    "CallStatus",
    "AnsweredBy",
    "Direction",
    "ApiVersion",
    "SequenceNumber",
    "CallDuration",
    "Timestamp",
    "DialCallStatus",
    "DialCallSid",
    "DialCallDuration",
    "DialBridged",
    "Digits",
    "RecordingUrl",
    "ErrorCode",
];
const TWILIO_WORDS: &[&str] = &[
    "queued",
    "initiated",
    "ringing",
    "in-progress",
    "completed",
    "busy",
    "no-answer",
    "failed",
    "canceled",
    "answered",
    "human",
    "machine_start",
    "machine_end_beep",
    "fax",
    "unknown",
    "true",
    "0",
    "1",
    "2",
    "-1",
    "4294967296",
    "99999999999999999999",
    "Tue, 24 Nov 2026 06:00:00 +0000",
];

/// Every Twilio webhook route.
const TWILIO_ROUTES: [&str; 5] =
    ["/twilio/voice", "/twilio/status", "/twilio/agent", "/twilio/agent-status", "/twilio/conference"];

#[derive(Debug, Clone)]
struct TwilioInput {
    route: usize,
    call: usize,
    attempt: String,
    params: Vec<(String, String)>,
    signed: bool,
}

fn twilio_input() -> impl Strategy<Value = TwilioInput> {
    let key = prop_oneof![5 => prop::sample::select(TWILIO_PARAMS).prop_map(str::to_owned), 1 => "\\PC{0,8}"];
    let val = prop_oneof![
        3 => prop::sample::select(TWILIO_WORDS).prop_map(str::to_owned),
        1 => Just(format!("CA{}", "2".repeat(32))),
        1 => Just(format!("CA{}", "1".repeat(32))),
        2 => text(),
    ];
    (
        0..TWILIO_ROUTES.len(),
        any::<usize>(),
        text(),
        prop::collection::vec((key, val), 0..10),
        prop::bool::weighted(0.9),
    )
        .prop_map(|(route, call, attempt, params, signed)| TwilioInput { route, call, attempt, params, signed })
}

#[test]
fn twilio_callbacks_with_any_form_are_answered_without_a_5xx() {
    let rt = runtime();
    let tally = Tally::default();
    runner(200)
        .run(&prop::collection::vec(twilio_input(), REQUESTS_PER_CASE), |inputs| {
            rt.block_on(async {
                let f = fixture().await;
                let app = ibrat_http::twilio::router().with_state(ibrat_http::AppState::new(f.h.deps.clone()));
                let calls = [f.ids[4].clone(), f.ids[5].clone(), CallId::new().to_string(), "not-a-call".into()];
                for input in &inputs {
                    let route = TWILIO_ROUTES[input.route];
                    let path = format!(
                        "{route}?call_id={}&attempt={}",
                        encode(&calls[input.call % calls.len()]),
                        encode(&input.attempt)
                    );
                    let url = format!("{}{path}", f.h.deps.config.public_url);
                    let token = f.h.deps.config.twilio_auth_token.expose();
                    let signature = if input.signed {
                        ibrat_twilio::signature::compute_signature(token, &url, &input.params)
                    } else {
                        "forged".to_owned()
                    };
                    let req = Request::post(&path)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("x-twilio-signature", signature)
                        .body(Body::from(serde_urlencoded::to_string(&input.params).unwrap()))
                        .unwrap();
                    let res = tower::ServiceExt::oneshot(app.clone(), req).await.expect("infallible");
                    check_response(&path, res, &tally).await?;
                }
                Ok(())
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.report("Twilio callback forms");
}

// ------------------------------------------------------------ WebSocket

const WS_ACTIONS: &[&str] =
    &["ping", "set_availability", "disposition", "start_session", "end_session", "hangup", "subscribe", ""];

fn ws_message() -> impl Strategy<Value = String> {
    let fields = prop::collection::vec((prop::sample::select(FIELDS).prop_map(str::to_owned), value()), 0..4);
    prop_oneof![
        4 => (prop::sample::select(WS_ACTIONS), fields, prop::option::of(text())).prop_map(|(action, fields, request_id)| {
            let mut m: serde_json::Map<String, Value> = fields.into_iter().collect();
            m.insert("action".into(), json!(action));
            if let Some(r) = request_id {
                m.insert("request_id".into(), json!(r));
            }
            Value::Object(m).to_string()
        }),
        1 => value().prop_map(|v| v.to_string()),
        1 => "\\PC{0,64}",
        1 => (16_000usize..17_000).prop_map(|n| format!("{{\"action\":\"ping\",\"request_id\":\"{}\"}}", "r".repeat(n))),
    ]
}

#[test]
fn websocket_messages_of_any_shape_get_an_ack_or_an_error_reply() {
    let rt = runtime();
    let tally = Tally::default();
    runner(200)
        .run(&(prop::bool::ANY, prop::collection::vec(ws_message(), REQUESTS_PER_CASE)), |(as_admin, messages)| {
            rt.block_on(async {
                let f = fixture().await;
                let user = if as_admin { &f.admin } else { &f.salesperson };
                let actor = Actor { id: user.id.clone(), role: user.role };
                session::open(&f.h.deps, "conn-fuzz", &actor).await.expect("the connection opens");
                for text in &messages {
                    let reply = client::handle_client_message(&f.h.deps, "conn-fuzz", text).await;
                    let reply: Value = serde_json::from_str(&reply.to_text()).expect("replies are JSON");
                    tally.count(if reply["type"] == "error" { 400 } else { 200 });
                    if reply["type"] == "error" {
                        let ok = reply["error"]["code"].as_str().is_some_and(|c| !c.is_empty())
                            && reply["error"]["message"].as_str().is_some_and(|m| !m.is_empty());
                        prop_assert!(ok, "{text} got an error without code and message: {reply}");
                        let code = reply["error"]["code"].as_str().unwrap_or("");
                        prop_assert!(
                            !["internal", "unavailable"].contains(&code),
                            "{text} failed on our side: {reply}"
                        );
                    } else {
                        prop_assert_eq!(&reply["type"], &json!("ack"), "{} got {}", text, reply);
                    }
                }
                Ok(())
            })
        })
        .unwrap_or_else(|e| panic!("{e}"));
    tally.report("WebSocket client messages (400 = error reply, 200 = ack)");
}

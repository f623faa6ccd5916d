//! Durable webhook ingest against a bare handler, in one run, with the same client.
//!
//! Baseline: an axum handler on loopback that only parses the JSON body and answers 200. Measured:
//! calldesk's real webhook route (real router, real store on a SQLite file, group commit), each
//! request answered only after the commit holding its event. Both take the same realistic TeleCMI
//! events (live events and reports of many calls, a few resent) from 32 keep-alive connections.
//! The two take turns in five rounds on the same slices of the webhooks (each slice a fifth of the
//! calls, all their webhooks), which one goes first alternating; the figure is the route's rate
//! over its five rounds against the bare handler's over its five. A shared machine changes speed
//! within seconds, and a baseline measured once before the route would carry that into the ratio.
//! Each side's CPU per request and how many cores it kept busy are printed too, and, where there
//! is a RAM disk (`/dev/shm`), the route again with the database file there: what the disk under
//! the file costs, apart from the code (context, without a goal). With `CALLDESK_TEST_MYSQL_URL`
//! set, the route is measured on a fresh MariaDB database too.
//!
//! `cargo bench --bench ingest` (50k requests each) or `-- --quick` (5k).

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use support::{Better, Report};

use calldesk::domain::{CallType, Provider};
use calldesk::store::{NewCall, Store};

const CONNECTIONS: usize = 32;
const TOKEN: &str = "bench-webhook-token-0123456789";
const APP_ID: &str = "33336628";
const USER: &str = "5003_33336628";
/// One request in this many resends an earlier event (TeleCMI may deliver twice).
const RESEND_EVERY: usize = 25;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(run());
}

async fn run() {
    let requests = support::size(50_000, 5_000);
    println!("ingest: {requests} webhooks per target, {CONNECTIONS} connections");
    let mut report = Report::default();

    let bare = serve(bare_router()).await;
    let bare_url = format!("http://{bare}/webhook/telecmi/{TOKEN}");
    // Under the build's target directory, on the project's disk (`/tmp` may be a RAM disk).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("tempdir");
    let sqlite = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.expect("sqlite");
    let (ratio, base, real) = measure(
        &sqlite,
        &bare_url,
        requests,
        "bare handler (parse JSON, answer 200)",
        "webhook route, SQLite (group commit)",
    )
    .await;
    report.figure("ingest SQLite / bare handler", ratio, "×", 0.5, Better::Higher);
    report.figure("ingest SQLite p99", support::ms(real.p99), "ms", 10.0, Better::Lower);
    if let (Some(route), Some(bare)) = (real.cpu_per_request, base.cpu_per_request) {
        // Whole process on both sides: the client and the HTTP server are in both.
        report.info("ingest SQLite CPU per webhook / bare handler's (whole process)", route / bare, "×");
        report.info("ingest SQLite CPU per webhook over the bare handler's", route - bare, "µs");
    }

    // The same route with the database file in memory (a RAM disk, where there is one): what the
    // disk under the file costs, apart from the code. Context only: the goal is on a disk, and
    // this is a run of its own, so set it beside the figure above with the spread between runs
    // in mind.
    if let Some(ram) = ram_disk() {
        let dir = tempfile::tempdir_in(ram).expect("tempdir on the RAM disk");
        let store = Store::open(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.expect("sqlite");
        let (ratio, ..) = measure(
            &store,
            &bare_url,
            requests,
            "bare handler (again, for the RAM disk)",
            "webhook route, SQLite on a RAM disk",
        )
        .await;
        report.info("ingest SQLite on a RAM disk / bare handler", ratio, "×");
    }

    if let Some(base_url) = support::mysql_base() {
        let name = format!("cd_bench_{}", &calldesk::commands::tokens::generate()[3..15]);
        let admin = sqlx::MySqlPool::connect(&base_url).await.expect("connect to MariaDB");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4")))
            .execute(&admin)
            .await
            .expect("create bench database");
        let mysql = Store::open(&format!("{base_url}/{name}")).await.expect("mysql");
        let (ratio, _, real) = measure(
            &mysql,
            &bare_url,
            requests,
            "bare handler (again, for MariaDB)",
            "webhook route, MariaDB (group commit)",
        )
        .await;
        report.info("ingest MariaDB / bare handler", ratio, "×");
        report.info("ingest MariaDB p99", support::ms(real.p99), "ms");
        mysql.close().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE `{name}`"))).execute(&admin).await;
    }
    report.finish();
}

/// The route on `store` against the bare handler (`requests` webhooks each, in alternating
/// rounds), both sides printed under their names, and everything acknowledged found stored.
async fn measure(store: &Store, bare_url: &str, requests: usize, bare_name: &str, route_name: &str) -> (f64, Run, Run) {
    let rounds = make_bodies(store, requests).await;
    let (ratio, base, real) = compare(bare_url, &ingest_url(store).await, &rounds).await;
    base.print(bare_name);
    real.print(route_name);
    check_stored(store, &rounds.concat()).await;
    (ratio, base, real)
}

/// A RAM disk (`/dev/shm`, a tmpfs) with room for the run (a full run's file reaches about
/// 35 MB; a container's `/dev/shm` is often 64 MiB, and may be full), if there is one.
fn ram_disk() -> Option<&'static std::path::Path> {
    const TMPFS_MAGIC: u64 = 0x0102_1994;
    const ROOM: u64 = 256 << 20;
    let shm = std::path::Path::new("/dev/shm");
    let fs = rustix::fs::statfs(shm).ok()?;
    #[allow(clippy::useless_conversion, clippy::unnecessary_fallible_conversions)]
    let (kind, free) = (
        u64::try_from(fs.f_type).ok()?,
        u64::try_from(fs.f_bavail).ok()?.saturating_mul(u64::try_from(fs.f_bsize).ok()?),
    );
    (kind == TMPFS_MAGIC && free >= ROOM && tempfile::tempdir_in(shm).is_ok()).then_some(shm)
}

/// The baseline: parse the body as JSON, answer 200.
fn bare_router() -> Router {
    async fn handle(body: Bytes) -> axum::response::Response {
        use axum::response::IntoResponse;
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(_) => axum::Json(serde_json::json!({"ok": true, "result": "applied"})).into_response(),
            Err(_) => axum::http::StatusCode::BAD_REQUEST.into_response(),
        }
    }
    Router::new().route("/webhook/telecmi/{token}", post(handle)).route("/healthz", get(|| async { "ok" }))
}

async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(calldesk::server::serve(listener, app, std::future::pending()));
    addr
}

/// calldesk's own webhook route on `store`, as `calldesk serve` mounts it.
async fn ingest_url(store: &Store) -> String {
    let state = calldesk::server::AppState::new(
        store.clone(),
        calldesk::coord::bus::new_bus(),
        calldesk::config::Secret::new(TOKEN.to_string()),
        Some(APP_ID),
    );
    let addr = serve(calldesk::server::router(state)).await;
    format!("http://{addr}/webhook/telecmi/{TOKEN}")
}

/// `n` webhooks in [`ROUNDS`] slices: the eight of each call (live events, then both legs'
/// reports) for n/8 calls started in `store`, every call in one slice (the same mix of work in
/// every slice), stage by stage so a burst holds many calls at every stage; every
/// [`RESEND_EVERY`]th request resends an earlier one.
async fn make_bodies(store: &Store, n: usize) -> Vec<Vec<String>> {
    let calls = n.div_ceil(8);
    let mut scripts = Vec::with_capacity(calls);
    for i in 0..calls {
        let c = NewCall {
            caller_id: 3,
            driver_id: format!("B{i:06}"),
            driver_mobile: format!("9198{i:08}"),
            driver_name: format!("Driver {i}"),
            driver_tmid: None,
            call_type: CallType::Ivr,
            provider: Provider::Telecmi,
            telecmi_user_id: Some(USER.into()),
            min_gap: chrono::Duration::seconds(30),
            session: None,
        };
        let call = store.start_call(&c, chrono::Utc::now()).await.expect("start call");
        scripts.push(script(call.id, &c.driver_mobile));
    }
    let per_round = n.div_ceil(ROUNDS);
    (0..ROUNDS)
        .map(|round| {
            let mut out: Vec<String> = Vec::with_capacity(per_round);
            'stages: for stage in 0..8 {
                for s in scripts.iter().skip(round).step_by(ROUNDS) {
                    if out.len() == per_round {
                        break 'stages;
                    }
                    if out.len() % RESEND_EVERY == RESEND_EVERY - 1 {
                        let again = out[out.len() / 2].clone();
                        out.push(again);
                    } else {
                        out.push(s[stage].clone());
                    }
                }
            }
            out
        })
        .collect()
}

/// One call's webhooks in TeleCMI's wire format (`to` a string in events, a number in reports).
fn script(call_id: i64, mobile: &str) -> Vec<String> {
    let extra = serde_json::json!({ "calldesk_call_id": call_id.to_string() }).to_string();
    let rid = format!("bench-req-{call_id:08}-{}", &TOKEN[..8]);
    let event = |leg: &str, status: &str| {
        serde_json::json!({"call_id": format!("c-{call_id}"), "leg": leg, "type": "event", "user": USER,
            "cmiuuid": format!("c-{call_id}-{leg}"), "direction": "outbound", "callerid": "912240000000",
            "app_id": 33336628, "time": 1_650_635_340_436_i64, "custom": "{\"crm\":\"true\"}",
            "extra_params": extra, "request_id": rid, "status": status, "to": mobile,
            "conversation_uuid": format!("c-{call_id}-{leg}")})
        .to_string()
    };
    let cdr = |leg: &str, secs: i64| {
        let mut v = serde_json::json!({"virtual_number": "912240000000", "call_id": format!("c-{call_id}"),
            "custom": "{\"crm\":\"true\"}", "leg": leg, "type": "cdr", "appid": 33336628,
            "to": mobile.parse::<u64>().unwrap_or(0), "cmiuuid": format!("c-{call_id}-{leg}"), "status": "answered",
            "user": USER, "time": "1650630551178", "direction": "outbound", "answeredsec": secs,
            "hangup_reason": "recv_bye", "request_id": rid, "extra_params": extra});
        if leg == "b" {
            v["record"] = serde_json::json!("true");
            v["filename"] = serde_json::json!(format!("c-{call_id}.mp3"));
        }
        v.to_string()
    };
    vec![
        event("a", "started"),
        event("a", "answered"),
        event("b", "started"),
        event("b", "answered"),
        event("b", "hangup"),
        event("a", "hangup"),
        cdr("b", 30 + call_id % 60),
        cdr("a", 95),
    ]
}

/// Rounds in which the bare handler and the route take turns.
const ROUNDS: usize = 5;

/// The bare handler and the route take turns, round by round, each on the same slice of the
/// webhooks, which goes first alternating (a shared machine that speeds up or slows down during
/// the run weighs on both alike, and neither always runs in the wake of the other), with a pause
/// before each. Returns the route's rate over all its rounds against the bare handler's over all
/// its rounds, and each side's figures.
async fn compare(bare_url: &str, route_url: &str, rounds: &[Vec<String>]) -> (f64, Run, Run) {
    let (mut bare, mut route) = (Timed::default(), Timed::default());
    let pause = || tokio::time::sleep(Duration::from_millis(200));
    for (i, slice) in rounds.iter().enumerate() {
        let (b, r) = if i % 2 == 0 {
            pause().await;
            let b = drive(bare_url, slice).await;
            pause().await;
            (b, drive(route_url, slice).await)
        } else {
            pause().await;
            let r = drive(route_url, slice).await;
            pause().await;
            (drive(bare_url, slice).await, r)
        };
        println!(
            "  round {}: bare {:.0} req/s, route {:.0} req/s: {:.3}×",
            i + 1,
            b.rate(),
            r.rate(),
            r.rate() / b.rate()
        );
        bare.add(b);
        route.add(r);
    }
    let ratio = route.rate() / bare.rate();
    (ratio, bare.run(), route.run())
}

/// One side's requests: how long each took, and the time they all took together.
#[derive(Default)]
struct Timed {
    latencies: Vec<Duration>,
    elapsed: Duration,
    /// CPU the whole process used meanwhile (client, server, writer), where it can be read.
    cpu: Option<Duration>,
}

impl Timed {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn add(&mut self, other: Timed) {
        self.cpu = match (self.latencies.is_empty(), self.cpu, other.cpu) {
            (true, _, cpu) => cpu,
            (false, Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        self.latencies.extend(other.latencies);
        self.elapsed += other.elapsed;
    }

    fn run(mut self) -> Run {
        let rate = self.rate();
        let requests = self.latencies.len().max(1) as f64;
        let cpu_per_request = self.cpu.map(|c| c.as_secs_f64() * 1e6 / requests);
        let busy = self.cpu.map(|c| c.as_secs_f64() / self.elapsed.as_secs_f64());
        let p50 = support::percentile(&mut self.latencies, 50.0);
        let p99 = support::percentile(&mut self.latencies, 99.0);
        Run { rate, p50, p99, elapsed: self.elapsed, cpu_per_request, busy }
    }
}

struct Run {
    rate: f64,
    p50: Duration,
    p99: Duration,
    elapsed: Duration,
    /// µs of CPU per request, all threads of this process (not a database server's).
    cpu_per_request: Option<f64>,
    /// Cores kept busy on average (CPU time ÷ wall time).
    busy: Option<f64>,
}

impl Run {
    fn print(&self, what: &str) {
        println!(
            "  {what}, all rounds: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms ({:.2} s)",
            self.rate,
            support::ms(self.p50),
            support::ms(self.p99),
            self.elapsed.as_secs_f64()
        );
        if let (Some(cpu), Some(busy)) = (self.cpu_per_request, self.busy) {
            println!("    this process: CPU {cpu:.0} µs per request, {busy:.2} cores busy on average");
        }
    }
}

/// Sends every body once from [`CONNECTIONS`] concurrent keep-alive connections; each must be
/// answered 200.
async fn drive(url: &str, bodies: &[String]) -> Timed {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    // Open the connections first (a GET each), so the run measures requests, not handshakes.
    let health = url.split("/webhook").next().map(|b| format!("{b}/healthz")).unwrap_or_default();
    let warm: Vec<_> = (0..CONNECTIONS).map(|_| client.get(&health).send()).collect();
    for r in futures::future::join_all(warm).await {
        r.expect("warm-up");
    }
    let bodies: Arc<Vec<Bytes>> = Arc::new(bodies.iter().map(|b| Bytes::from(b.clone())).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let cpu_before = support::cpu_time();
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let (client, url, bodies, next) = (client.clone(), url.to_string(), bodies.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(bodies.len() / CONNECTIONS + 1);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let t = Instant::now();
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await
                    .expect("send");
                let status = resp.status();
                let _ = resp.bytes().await.expect("body");
                latencies.push(t.elapsed());
                assert_eq!(status.as_u16(), 200, "request {i} answered {status}");
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(bodies.len());
    for t in tasks {
        latencies.extend(t.await.expect("client task"));
    }
    let elapsed = started.elapsed();
    let cpu = support::cpu_time().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    Timed { latencies, elapsed, cpu }
}

/// The measured route really stored what it acknowledged: one event per distinct webhook.
async fn check_stored(store: &Store, bodies: &[String]) {
    let distinct: std::collections::HashSet<String> =
        bodies.iter().map(|b| calldesk::telecmi::webhook::parse(b.as_bytes()).expect("parse").dedup_key).collect();
    let mut stored = 0;
    let mut after = 0;
    loop {
        let page = store.events_after(after, 10_000).await.expect("events");
        let Some(last) = page.last() else { break };
        after = last.id;
        stored += page.len();
    }
    assert_eq!(stored, distinct.len(), "stored events vs distinct webhooks acknowledged");
}

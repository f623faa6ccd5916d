//! A webhook the console's own listener stores reaches the screen within one frame (33 ms), from
//! the HTTP request to the drawn frame, showing what is stored (issue 9).

mod common;

use std::time::{Duration, Instant};

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::action::Action;
use calldesk::console::state::{App, LiveCall};
use calldesk::console::update::update;
use calldesk::console::views::render;
use calldesk::coord::dialer::CallKind;
use calldesk::domain::{CallStatus, FeedbackCatalog};
use common::fixtures::{identity, ist, now};

/// One frame at 30 frames per second.
const FRAME: Duration = Duration::from_millis(33);

#[tokio::test]
async fn a_webhook_on_the_consoles_own_listener_is_on_screen_within_a_frame() {
    let db = common::sqlite_db().await;
    let rig = common::rig(db, 60_000).await;
    let mut config = common::test_config(&rig.sim.base_url());
    config.webhook_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.webhook_token = Some(calldesk::config::Secret::new("own-listener-token-0123456789"));
    // The console's wiring: its listener announces on the console's bus.
    let bus = calldesk::coord::bus::new_bus();
    let listener = calldesk::commands::session::console_listener(&rig.db.store, &config, &bus).await.expect("listener");
    let url = format!("http://{}/webhook/telecmi/own-listener-token-0123456789", listener.addr);
    let http = reqwest::Client::new();
    let mut took = Vec::new();
    for i in 0..7 {
        let call =
            rig.dialer.place_call(3, &format!("D{i}"), None, CallKind::Manual).await.expect("a call row to report on");
        let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
        app.live = Some(LiveCall::new(call.clone(), CallKind::Telecmi));
        let mut rx = bus.subscribe();
        let body = serde_json::json!({"type": "event", "leg": "b", "status": "answered", "app_id": common::APP_ID,
            "extra_params": format!("{{\"calldesk_call_id\":{}}}", call.id), "call_id": format!("own-{i}")});
        let mut term = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        let start = Instant::now();
        let sent = http.post(&url).json(&body);
        let (resp, screen) = tokio::join!(sent.send(), async {
            loop {
                let u = rx.recv().await.expect("bus");
                if u.call.id == call.id && u.event_id.is_some() {
                    update(&mut app, Action::CallUpdated(Box::new(u)));
                    term.draw(|f| render(&app, f)).expect("draw");
                    return (start.elapsed(), term.backend().to_string());
                }
            }
        });
        assert!(resp.expect("post").status().is_success());
        let (elapsed, screen) = screen;
        assert!(screen.contains("CONNECTED"), "the frame shows the stored status:\n{screen}");
        assert_eq!(rig.db.store.call(call.id).await.expect("read").expect("row").call_status(), CallStatus::Connected);
        took.push(elapsed);
    }
    took.sort();
    let median = took[took.len() / 2];
    eprintln!("webhook → frame on the own listener: median {median:?}, all {took:?}");
    assert!(median <= FRAME, "median {median:?} over one frame ({FRAME:?}): {took:?}");
}

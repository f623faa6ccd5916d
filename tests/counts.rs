//! Counts that say what happened: one of anything is singular wherever a count is printed.

mod common;

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use calldesk::console::state::{App, Screen, StatsBundle};
use calldesk::domain::{CallStatus, FeedbackCatalog};
use calldesk::store::Stats;
use common::fixtures::{identity, ist, now};

fn draw(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    t.draw(|f| calldesk::console::views::render(app, f)).expect("draw");
    t.backend().to_string()
}

/// One of anything is singular wherever a count is printed: the status bar, the stats view, the
/// call log's title and the driver card.
#[test]
fn one_call_is_one_call() {
    use calldesk::console::state::{CardView, Modal, Progress};
    use common::fixtures::call;
    let mut app = App::new(identity(true), FeedbackCatalog::default(), now(), ist());
    app.progress = Some(Progress { calls: 1, connected: 1, positive: 0, target: Some(10) });
    let one = Stats { total: 1, talks: 1, avg_duration: Some(60.0), avg_talk: Some(60.0), ..Stats::default() };
    app.stats = Some(StatsBundle { today: one.clone(), week: one, days: vec![] });
    app.call_log.total = 1;
    let mut screens = Vec::new();
    for screen in [Screen::Queue, Screen::Stats, Screen::CallLog] {
        app.screen = screen;
        screens.push(draw(&app, 120, 30));
    }
    app.modal = Some(Modal::Card(Box::new(CardView {
        driver_id: "D1".into(),
        hit: None,
        calls: vec![call(10, 1, "telecmi", CallStatus::Completed)],
        recorded: Default::default(),
        loading: false,
        scroll: 0,
        focus_call: None,
    })));
    screens.push(draw(&app, 120, 30));
    let all = screens.join("\n");
    for want in ["1 call ·", "Today: 1 call ·", "over 1 talk", "over 1 call", "· 1 call ·", "1 call, newest first"]
    {
        assert!(all.contains(want), "lacks {want:?}:\n{all}");
    }
    for wrong in ["1 calls", "1 talks", "call(s)"] {
        assert!(!all.contains(wrong), "{wrong:?}:\n{all}");
    }
}

//! Find anyone at the keyboard: a driver re-queued after an unanswered call is found by a
//! formatted number, and the card shows the earlier remarks (issue 10).

mod common;

use calldesk::telecmi::simulator::Outcome;
use common::e2e::Env;
use common::tmux::{self, Session};

#[tokio::test]
async fn a_requeued_driver_is_found_by_a_formatted_number_and_the_card_shows_the_remarks() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(&[("D1", "Ramesh Gupta", "9000000012"), ("D2", "Ganesh Singh", "9000000013")]).await;
    let tm = Session::start(&env.console_script(""), 120, 40);
    tm.wait_text("2 due", 15).await;
    env.sim.push_outcome(Outcome::DriverNoAnswer);
    tm.keys(&["Enter"]);
    tm.wait_text("TeleCMI IVR", 5).await;
    tm.keys(&["t"]);
    tm.wait_form("Ramesh Gupta", 20).await;
    tm.wait_text("The driver did not answer.", 10).await;
    tm.keys(&["Tab"]);
    tm.type_text("Wife says he drives to Pune, call after 6pm");
    tm.keys(&["Enter"]);
    tm.wait_text("Saved \"Ringing / Call Busy\"", 5).await;
    tm.wait_text("1 due", 5).await;

    tm.keys(&["/"]);
    tm.type_text("+91 90000-00012");
    let screen = tm.wait_text("1 found", 5).await;
    assert!(screen.contains("Ramesh Gupta") && screen.contains("retry"), "{screen}");
    tm.keys(&["Enter", "i"]);
    let screen = tm.wait_text("Wife says he drives to Pune, call after 6pm", 5).await;
    assert!(screen.contains("[no answer]"), "the row says why: {screen}");
    assert!(screen.contains("1 call, newest first"), "{screen}");
}

//! Calling hours at the keyboard: the real binary in tmux with a window that is closed now for
//! the team but open for a driver whose own zone came from the import file.

mod common;

use chrono::{Timelike, Utc};

use common::e2e::Env;
use common::tmux::{self, Session};

const DRIVERS: &[(&str, &str, &str)] =
    &[("D1", "Ramesh Gupta", "9000000012"), ("D2", "Ganesh Singh", "9000000018"), ("D3", "Rakesh Patel", "9000000019")];

#[tokio::test]
async fn a_closed_window_refuses_the_dial_and_a_driver_in_an_open_zone_can_be_called() {
    if !tmux::available() {
        return;
    }
    let env = Env::new(DRIVERS).await;
    // Team zone UTC; the window is the hour two hours from now, so it is closed for the team and
    // open for Rakesh, who lives at UTC+2 (`Etc/GMT-2`).
    let start = (Utc::now().hour() + 2) % 24;
    let hours = format!("{start:02}:00-{:02}:00", start + 1);
    let csv = env.dir.path().join("zones.csv");
    std::fs::write(
        &csv,
        "id,name,mobile,tmid,city,state,assigned_to,timezone\nD3,Rakesh Patel,9000000019,TMD3,Pune,MH,3,Etc/GMT-2\n",
    )
    .expect("csv");
    env.calldesk(&["import", "drivers", csv.to_str().expect("path")]);
    let script = env.console_script_with("", &format!("CALLDESK_TIMEZONE=UTC CALLING_HOURS={hours}"));
    let tm = Session::start(&script, 120, 40);
    let screen = tm.wait_text("3 due", 15).await;
    assert!(screen.contains(&format!("till {start:02}:00")), "{screen}");
    assert!(screen.contains("⏸ Ramesh") && screen.contains("⏸ Ganesh"), "{screen}");
    assert!(!screen.contains("⏸ Rakesh"), "Rakesh's window is open: {screen}");
    // He comes first, and the cursor starts on him: who may be called now is listed first.
    let line_of = |name: &str| screen.lines().position(|l| l.contains(name)).expect(name);
    assert!(line_of("Rakesh") < line_of("Ramesh") && line_of("Rakesh") < line_of("Ganesh"), "{screen}");

    // Enter on Ramesh: the dialog says why and when; neither t nor m dials.
    tm.keys(&["Down", "Enter"]);
    let dialog = tm.wait_text("Outside calling hours", 5).await;
    assert!(dialog.contains("The window opens at"), "{dialog}");
    tm.keys(&["m"]);
    // The status line says it only once a key asked to dial (the dialog said it before).
    tm.wait_text("✗ Outside calling hours", 3).await;
    tm.keys(&["t"]);
    tm.keys(&["Enter"]);
    tm.wait_for("the dialog still open after t and Enter", 3, |s| s.contains("Not now.") && s.contains("✗ Outside"))
        .await;
    assert!(env.store().await.driver_calls("D1", 5).await.expect("calls").is_empty(), "nothing was dialed");
    assert!(env.sim.placed().is_empty(), "TeleCMI was never asked");
    tm.keys(&["Escape"]);

    // Rakesh, in his own zone's daytime, can be called.
    tm.keys(&["Up", "Enter"]);
    tm.wait_text("Call Rakesh Patel", 5).await;
    tm.keys(&["m"]);
    tm.wait_text("Manual call: dial", 5).await;
    let calls = env.store().await.driver_calls("D3", 5).await.expect("calls");
    assert_eq!(calls.len(), 1, "the open driver was called");
    // Every key pressed at Ramesh was handled before this call: none of them dialed him.
    assert!(env.store().await.driver_calls("D1", 5).await.expect("calls").is_empty(), "Ramesh was never dialed");

    // A resize keeps the waiting rows readable.
    tm.resize(80, 24);
    let narrow = tm.wait_text("⏸", 5).await;
    assert!(narrow.contains("till"), "{narrow}");
    tm.kill();
}

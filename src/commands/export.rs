//! `calldesk export logs`: every call log to stdout as CSV or JSON lines, keyset-paged.

use std::io::Write;

use crate::store::{CallFilter, CallPage, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

/// Writes all calls matching `filter`, newest first. JSON is one object per line.
pub async fn write_logs(store: &Store, filter: &CallFilter, format: Format, out: impl Write) -> anyhow::Result<u64> {
    let mut csv_out = (format == Format::Csv).then(|| csv::Writer::from_writer(Vec::new()));
    let mut out = out;
    let mut before = None;
    let mut n = 0u64;
    loop {
        let page = store.list_calls(filter, CallPage { before_id: before, offset: None, limit: 1000 }).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        for row in &page {
            match csv_out.as_mut() {
                Some(w) => w.serialize(row)?,
                None => {
                    serde_json::to_writer(&mut out, row)?;
                    out.write_all(b"\n")?;
                }
            }
            n += 1;
        }
        if let Some(w) = csv_out.take() {
            let buf = w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?;
            out.write_all(&buf)?;
            // Later pages continue the same table, without a second header.
            csv_out = Some(csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new()));
        }
    }
    if n == 0
        && let Some(w) = csv_out.as_mut()
    {
        // An empty export still says which columns it would have.
        w.write_record([
            "id",
            "reference_id",
            "caller_id",
            "driver_id",
            "driver_mobile",
            "driver_name",
            "driver_tmid",
            "call_type",
            "status",
            "provider",
            "telecmi_user_id",
            "feedback",
            "remarks",
            "call_duration",
            "created_at",
            "updated_at",
        ])?;
        w.flush()?;
        out.write_all(w.get_ref())?;
    }
    out.flush()?;
    Ok(n)
}

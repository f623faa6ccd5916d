//! The day's numbers: the old system's monitoring queries (counts by status, average duration,
//! daily completed/failed), kept as its SQL defines them but over driver calls, and the figures
//! built on top of them.
//!
//! Definitions, the same everywhere they are shown:
//! - a **call** is a driver call: one that may have rung the driver. A call that never did — the
//!   agent's own phone was not answered, TeleCMI refused it, it was marked not placed, its outcome
//!   says the driver was not called (`store::placed` says which) — is counted apart, as **not
//!   placed**, and is in no other figure;
//! - **connected** call: status `completed` (someone answered; the old system's "completed");
//! - **connect rate**: connected calls ÷ calls (the seed's completed ÷ total; not a success rate);
//! - **conversion rate**: connected calls whose outcome the catalogue counts as positive
//!   ([`FeedbackCatalog::positive`]) ÷ connected calls;
//! - **average talk**: mean `call_duration` over *talks* — connected calls with `call_duration > 0`,
//!   so a missed call's ringing time (a manual call logged as missed after 8 s) never counts, and a
//!   connected call whose length never arrived does not drag the mean to zero;
//! - **average duration**: the seed's `AVG(call_duration)` over every call, whatever its status.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::placed::{NOT_PLACED, args as not_placed_args};
use super::{Result, Store, db_time, with_pool};
use crate::domain::hours::{local_days, start_of_day};
use crate::domain::{CallStatus, FeedbackCatalog};

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct StatusCount {
    pub status: String,
    pub count: i64,
    pub avg_duration: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FeedbackCount {
    pub feedback: String,
    pub count: i64,
}

/// `n` as a percentage of `d`, or `None` when there is nothing to divide by.
fn percent(n: i64, d: i64) -> Option<f64> {
    (d > 0).then(|| n as f64 * 100.0 / d as f64)
}

fn positive_in(outcomes: &[FeedbackCount], catalog: &FeedbackCatalog) -> i64 {
    outcomes.iter().filter(|f| catalog.is_positive(&f.feedback)).map(|f| f.count).sum()
}

/// One day's totals (days in the time zone given by `offset_minutes`).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DayStats {
    pub date: NaiveDate,
    pub total_calls: i64,
    /// Status `completed`: the connected calls.
    pub completed: i64,
    pub failed: i64,
    pub missed: i64,
    /// The seed's average duration over every call of the day.
    pub avg_duration: Option<f64>,
    /// Connected calls with a duration (see the module docs).
    pub talks: i64,
    pub avg_talk: Option<f64>,
    /// Outcomes saved on the day's connected calls.
    pub connected_outcomes: Vec<FeedbackCount>,
    /// Calls that never rang the driver: in none of the figures above.
    pub not_placed: i64,
}

impl DayStats {
    /// Connected (completed) calls as a share of calls, 0–100 (0 on a day without calls).
    pub fn connect_rate(&self) -> f64 {
        percent(self.completed, self.total_calls).unwrap_or(0.0)
    }

    /// Connected calls with a positive outcome.
    pub fn positive(&self, catalog: &FeedbackCatalog) -> i64 {
        positive_in(&self.connected_outcomes, catalog)
    }

    /// Positive outcomes as a share of connected calls, 0–100; `None` without a connected call.
    pub fn conversion_rate(&self, catalog: &FeedbackCatalog) -> Option<f64> {
        percent(self.positive(catalog), self.completed)
    }
}

/// The numbers of a stats screen: today, the last 7 days, and each of those days
/// ([`Store::stats_bundle`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatsBundle {
    pub today: Stats,
    pub week: Stats,
    pub days: Vec<DayStats>,
}

/// Counts for a time range.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub by_status: Vec<StatusCount>,
    pub by_feedback: Vec<FeedbackCount>,
    pub total: i64,
    /// The seed's average duration over every call, whatever its status.
    pub avg_duration: Option<f64>,
    /// Connected calls with a duration (see the module docs).
    pub talks: i64,
    pub avg_talk: Option<f64>,
    /// Outcomes saved on connected calls.
    pub connected_outcomes: Vec<FeedbackCount>,
    /// Calls that never rang the driver: in none of the figures above.
    pub not_placed: i64,
}

impl Stats {
    /// Calls in `status`.
    pub fn count(&self, status: CallStatus) -> i64 {
        self.by_status.iter().filter(|s| s.status == status.as_str()).map(|s| s.count).sum()
    }

    /// Connected (completed) calls.
    pub fn connected(&self) -> i64 {
        self.count(CallStatus::Completed)
    }

    /// Connected calls as a share of calls, 0–100; `None` without calls.
    pub fn connect_rate(&self) -> Option<f64> {
        percent(self.connected(), self.total)
    }

    /// Connected calls with a positive outcome.
    pub fn positive(&self, catalog: &FeedbackCatalog) -> i64 {
        positive_in(&self.connected_outcomes, catalog)
    }

    /// Positive outcomes as a share of connected calls, 0–100; `None` without a connected call.
    pub fn conversion_rate(&self, catalog: &FeedbackCatalog) -> Option<f64> {
        percent(self.positive(catalog), self.connected())
    }
}

/// A row of one caller's.
#[derive(sqlx::FromRow)]
struct Of<T> {
    caller_id: i64,
    #[sqlx(flatten)]
    row: T,
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    status: String,
    not_placed: i64,
    count: i64,
    avg_duration: Option<f64>,
    talks: i64,
    avg_talk: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct FeedbackRow {
    feedback: String,
    not_placed: i64,
    count: i64,
    connected: i64,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: String,
    not_placed: i64,
    total_calls: i64,
    completed: i64,
    failed: i64,
    missed: i64,
    avg_duration: Option<f64>,
    talks: i64,
    avg_talk: Option<f64>,
}

#[derive(sqlx::FromRow)]
struct DayOutcomeRow {
    day: String,
    feedback: String,
    count: i64,
}

/// Columns of a talk (see the module docs), for a query grouped by status or by day.
const TALKS: &str = "COUNT(CASE WHEN status = 'completed' AND call_duration > 0 THEN 1 END) AS talks, \
     CAST(AVG(CASE WHEN status = 'completed' AND call_duration > 0 THEN call_duration END) AS DOUBLE) AS avg_talk";

impl Store {
    /// Counts and average duration by status, counts by feedback, and talks, for the calls created
    /// in `[from, until)` that may have rung the driver, of one caller or everyone; and how many
    /// never did (the `created_at` index bounds the scan).
    #[tracing::instrument(skip_all, err)]
    pub async fn stats(&self, caller: Option<i64>, from: DateTime<Utc>, until: DateTime<Utc>) -> Result<Stats> {
        let who = if caller.is_some() { " AND caller_id = ?" } else { "" };
        let status_sql = format!(
            "SELECT COALESCE(status, 'initiated') AS status, {NOT_PLACED} AS not_placed, COUNT(*) AS count, \
             CAST(AVG(call_duration) AS DOUBLE) AS avg_duration, {TALKS} FROM call_logs \
             WHERE created_at >= ? AND created_at < ?{who} \
             GROUP BY COALESCE(status, 'initiated'), not_placed ORDER BY count DESC"
        );
        let fb_sql = format!(
            "SELECT feedback, {NOT_PLACED} AS not_placed, COUNT(*) AS count, \
             COUNT(CASE WHEN status = 'completed' THEN 1 END) AS connected \
             FROM call_logs WHERE created_at >= ? AND created_at < ? \
             AND feedback IS NOT NULL AND feedback <> ''{who} GROUP BY feedback, not_placed ORDER BY count DESC, feedback"
        );
        let (from, until) = (db_time(from), db_time(until));
        let np = not_placed_args();
        let (statuses, feedback) = with_pool!(self, |p, d| {
            let mut q1 = sqlx::query_as::<_, StatusRow>(sqlx::AssertSqlSafe(status_sql.as_str()));
            let mut q2 = sqlx::query_as::<_, FeedbackRow>(sqlx::AssertSqlSafe(fb_sql.as_str()));
            for a in &np {
                q1 = q1.bind(a.as_str());
                q2 = q2.bind(a.as_str());
            }
            q1 = q1.bind(from).bind(until);
            q2 = q2.bind(from).bind(until);
            if let Some(c) = caller {
                q1 = q1.bind(c);
                q2 = q2.bind(c);
            }
            let a = q1.fetch_all(p).await?;
            let b = q2.fetch_all(p).await?;
            Ok::<_, sqlx::Error>((a, b))
        })?;
        Ok(summarize(statuses, feedback))
    }

    /// [`Self::stats`] of each caller at once (callers without a call in `[from, until)` are
    /// absent): the supervisor's per-agent numbers and the managers' report, one pair of scans.
    #[tracing::instrument(skip_all, err)]
    pub async fn stats_by_caller(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<std::collections::BTreeMap<i64, Stats>> {
        let status_sql = format!(
            "SELECT caller_id, COALESCE(status, 'initiated') AS status, {NOT_PLACED} AS not_placed, COUNT(*) AS count, \
             CAST(AVG(call_duration) AS DOUBLE) AS avg_duration, {TALKS} FROM call_logs \
             WHERE created_at >= ? AND created_at < ? AND caller_id IS NOT NULL \
             GROUP BY caller_id, COALESCE(status, 'initiated'), not_placed"
        );
        let fb_sql = format!(
            "SELECT caller_id, feedback, {NOT_PLACED} AS not_placed, COUNT(*) AS count, \
             COUNT(CASE WHEN status = 'completed' THEN 1 END) AS connected \
             FROM call_logs WHERE created_at >= ? AND created_at < ? AND caller_id IS NOT NULL \
             AND feedback IS NOT NULL AND feedback <> '' GROUP BY caller_id, feedback, not_placed \
             ORDER BY count DESC, feedback"
        );
        let (from, until) = (db_time(from), db_time(until));
        let np = not_placed_args();
        let (statuses, feedback) = with_pool!(self, |p, d| {
            let mut q1 = sqlx::query_as::<_, Of<StatusRow>>(sqlx::AssertSqlSafe(status_sql.as_str()));
            let mut q2 = sqlx::query_as::<_, Of<FeedbackRow>>(sqlx::AssertSqlSafe(fb_sql.as_str()));
            for a in &np {
                q1 = q1.bind(a.as_str());
                q2 = q2.bind(a.as_str());
            }
            let a = q1.bind(from).bind(until).fetch_all(p).await?;
            let b = q2.bind(from).bind(until).fetch_all(p).await?;
            Ok::<_, sqlx::Error>((a, b))
        })?;
        let mut rows: std::collections::BTreeMap<i64, (Vec<StatusRow>, Vec<FeedbackRow>)> = Default::default();
        for r in statuses {
            rows.entry(r.caller_id).or_default().0.push(r.row);
        }
        for r in feedback {
            rows.entry(r.caller_id).or_default().1.push(r.row);
        }
        Ok(rows.into_iter().map(|(c, (s, f))| (c, summarize(s, f))).collect())
    }

    /// Per-day totals, completed, failed, missed, average duration and talks, newest day first,
    /// with each day's outcomes of connected calls and its calls that never rang the driver.
    /// `days` are `(day, start, end)` in UTC, as the team's zone draws them
    /// (`domain::hours::local_days`): the grouping is by those bounds, so a day with a clock change
    /// keeps its own 23 or 25 hours. Days without calls are left out.
    #[tracing::instrument(skip_all, err)]
    pub async fn daily_stats(
        &self,
        caller: Option<i64>,
        days: &[(NaiveDate, DateTime<Utc>, DateTime<Utc>)],
    ) -> Result<Vec<DayStats>> {
        let (Some(first), Some(last)) = (days.iter().map(|d| d.1).min(), days.iter().map(|d| d.2).max()) else {
            return Ok(Vec::new());
        };
        let who = if caller.is_some() { " AND caller_id = ?" } else { "" };
        let whens = " WHEN created_at >= ? AND created_at < ? THEN ?".repeat(days.len());
        let day_expr = format!("CASE{whens} END");
        let sql = format!(
            "SELECT {day_expr} AS day, {NOT_PLACED} AS not_placed, COUNT(*) AS total_calls, \
             COUNT(CASE WHEN status = 'completed' THEN 1 END) AS completed, \
             COUNT(CASE WHEN status = 'failed' THEN 1 END) AS failed, \
             COUNT(CASE WHEN status = 'missed' THEN 1 END) AS missed, \
             CAST(AVG(call_duration) AS DOUBLE) AS avg_duration, {TALKS} \
             FROM call_logs WHERE created_at >= ? AND created_at < ?{who} GROUP BY day, not_placed ORDER BY day DESC"
        );
        // Connected calls only: a driver who answered was rung, so none of these is "not placed".
        let outcomes_sql = format!(
            "SELECT {day_expr} AS day, feedback, COUNT(*) AS count FROM call_logs \
             WHERE created_at >= ? AND created_at < ? AND status = 'completed' AND feedback IS NOT NULL \
             AND feedback <> ''{who} GROUP BY day, feedback ORDER BY count DESC, feedback"
        );
        let bounds: Vec<(chrono::NaiveDateTime, chrono::NaiveDateTime, String)> =
            days.iter().map(|(d, a, b)| (db_time(*a), db_time(*b), d.to_string())).collect();
        let (first, last) = (db_time(first), db_time(last));
        let np = not_placed_args();
        let (rows, outcomes) = with_pool!(self, |p, d| {
            let mut q1 = sqlx::query_as::<_, DayRow>(sqlx::AssertSqlSafe(sql.as_str()));
            let mut q2 = sqlx::query_as::<_, DayOutcomeRow>(sqlx::AssertSqlSafe(outcomes_sql.as_str()));
            for (a, b, day) in &bounds {
                q1 = q1.bind(*a).bind(*b).bind(day.as_str());
                q2 = q2.bind(*a).bind(*b).bind(day.as_str());
            }
            for a in &np {
                q1 = q1.bind(a.as_str());
            }
            q1 = q1.bind(first).bind(last);
            q2 = q2.bind(first).bind(last);
            if let Some(c) = caller {
                q1 = q1.bind(c);
                q2 = q2.bind(c);
            }
            let a = q1.fetch_all(p).await?;
            let b = q2.fetch_all(p).await?;
            Ok::<_, sqlx::Error>((a, b))
        })?;
        Ok(days_from(rows, &outcomes))
    }

    /// Today and the last 7 days, each a day of `zone` from its own midnight (a day with a clock
    /// change is 23 or 25 hours), as of `now`: one caller's calls, or everyone's when `caller` is
    /// `None`. What the console's and the supervisor's stats screens show.
    pub async fn stats_bundle(&self, caller: Option<i64>, zone: Tz, now: DateTime<Utc>) -> Result<StatsBundle> {
        let days = local_days(now, zone, 7);
        let midnight = start_of_day(now, zone);
        let week_start = days.last().map_or(midnight, |d| d.1);
        let end = now + Duration::days(1);
        Ok(StatsBundle {
            today: self.stats(caller, midnight, end).await?,
            week: self.stats(caller, week_start, end).await?,
            days: self.daily_stats(caller, &days).await?,
        })
    }
}

/// [`Stats`] from the rows by status and by feedback: the driver calls' figures, and the count of
/// calls that never rang the driver.
fn summarize(statuses: Vec<StatusRow>, feedback: Vec<FeedbackRow>) -> Stats {
    let (statuses, unplaced): (Vec<StatusRow>, Vec<StatusRow>) = statuses.into_iter().partition(|s| s.not_placed == 0);
    let not_placed = unplaced.iter().map(|s| s.count).sum();
    let feedback: Vec<FeedbackRow> = feedback.into_iter().filter(|f| f.not_placed == 0).collect();
    let total = statuses.iter().map(|s| s.count).sum();
    let weighted: f64 = statuses.iter().map(|s| s.avg_duration.unwrap_or(0.0) * s.count as f64).sum();
    let avg_duration = (total > 0).then(|| weighted / total as f64);
    let (talks, avg_talk) = statuses
        .iter()
        .find(|s| s.status == CallStatus::Completed.as_str())
        .map_or((0, None), |s| (s.talks, s.avg_talk));
    let mut connected_outcomes: Vec<FeedbackCount> = feedback
        .iter()
        .filter(|f| f.connected > 0)
        .map(|f| FeedbackCount { feedback: f.feedback.clone(), count: f.connected })
        .collect();
    connected_outcomes.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.feedback.cmp(&b.feedback)));
    let by_status = statuses
        .into_iter()
        .map(|s| StatusCount { status: s.status, count: s.count, avg_duration: s.avg_duration })
        .collect();
    let by_feedback = feedback.into_iter().map(|f| FeedbackCount { feedback: f.feedback, count: f.count }).collect();
    Stats { by_status, by_feedback, total, avg_duration, talks, avg_talk, connected_outcomes, not_placed }
}

/// One [`DayStats`] per day from its rows (newest day first; a day's driver calls and its calls
/// never placed are two rows).
fn days_from(rows: Vec<DayRow>, outcomes: &[DayOutcomeRow]) -> Vec<DayStats> {
    let mut days: Vec<DayStats> = Vec::new();
    for r in rows {
        let Ok(date) = NaiveDate::parse_from_str(&r.day, "%Y-%m-%d") else { continue };
        if days.last().is_none_or(|d| d.date != date) {
            let connected_outcomes = outcomes
                .iter()
                .filter(|o| o.day == r.day)
                .map(|o| FeedbackCount { feedback: o.feedback.clone(), count: o.count })
                .collect();
            days.push(DayStats { date, connected_outcomes, ..DayStats::default() });
        }
        let Some(d) = days.last_mut() else { continue };
        if r.not_placed != 0 {
            d.not_placed += r.total_calls;
            continue;
        }
        d.total_calls = r.total_calls;
        d.completed = r.completed;
        d.failed = r.failed;
        d.missed = r.missed;
        d.avg_duration = r.avg_duration;
        d.talks = r.talks;
        d.avg_talk = r.avg_talk;
    }
    days
}

/// One caller's day, as the supervisor board and the managers' report show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AgentDay {
    pub caller_id: i64,
    pub name: String,
    /// Calls that may have rung the driver (the console's "calls").
    pub calls: i64,
    pub connected: i64,
    /// Outcomes the team counts as positive, on connected calls.
    pub positive: i64,
    pub target: Option<i64>,
    /// Seconds talked on connected calls.
    pub talk_secs: i64,
    /// Seconds on break (the running break up to `until`).
    pub break_secs: i64,
    /// Calls that never rang the driver (the agent's phone, TeleCMI).
    pub not_placed: i64,
    /// Saved outcomes by group (`Connected`, `Not Connected`, `Call Back Later`, `Do Not Call`,
    /// and `Other` for a text no outcome of the catalogue has), in that order (JSON: an object).
    #[serde(serialize_with = "as_object")]
    pub outcomes: Vec<(String, i64)>,
}

/// Pairs as one JSON object, in their order (`{"Connected": 3, "Not Connected": 4, …}`).
fn as_object<S: serde::Serializer>(pairs: &[(String, i64)], s: S) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(pairs.len()))?;
    for (k, v) in pairs {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// The outcome groups a report counts, in order.
pub fn outcome_groups() -> Vec<&'static str> {
    let mut v: Vec<&str> = crate::domain::FeedbackGroup::ALL.iter().map(|g| g.label()).collect();
    v.push("Other");
    v
}

impl Store {
    /// Each agent's day in `[from, until)` (every agent, those without a call too), by id.
    #[tracing::instrument(skip_all, err)]
    pub async fn agent_days(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        catalog: &FeedbackCatalog,
    ) -> Result<Vec<AgentDay>> {
        let stats = self.stats_by_caller(from, until).await?;
        let breaks: std::collections::BTreeMap<i64, i64> = self.break_seconds(from, until).await?.into_iter().collect();
        let targets = self.daily_targets().await?;
        let groups = outcome_groups();
        Ok(self
            .callers()
            .await?
            .into_iter()
            .filter(|c| !c.is_supervisor())
            .map(|c| {
                let s = stats.get(&c.id).cloned().unwrap_or_default();
                let mut outcomes: Vec<(String, i64)> = groups.iter().map(|g| ((*g).to_string(), 0)).collect();
                for f in &s.by_feedback {
                    let group = catalog.find(&f.feedback).map_or("Other", |o| o.group.label());
                    if let Some(slot) = outcomes.iter_mut().find(|(g, _)| g == group) {
                        slot.1 += f.count;
                    }
                }
                AgentDay {
                    caller_id: c.id,
                    name: c.name.clone(),
                    calls: s.total,
                    connected: s.connected(),
                    positive: s.positive(catalog),
                    target: targets.get(&c.id).copied(),
                    talk_secs: s.avg_talk.map_or(0, |a| (a * s.talks as f64).round() as i64),
                    break_secs: breaks.get(&c.id).copied().unwrap_or(0),
                    not_placed: s.not_placed,
                    outcomes,
                }
            })
            .collect())
    }
}

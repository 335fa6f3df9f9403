//! The JSON log line, written straight into the line buffer.
//!
//! The lines have the shape tracing-subscriber's JSON formatter gives with
//! `flatten_event` and `with_current_span` (`{"timestamp", "level",
//! "message", <fields>, "span": {<span fields>, "name"}}`), but its
//! formatter builds a `serde_json` map per line and re-parses the span's
//! fields from text every time: in a profile of `GET /healthz` that was a
//! third of the request's instructions (docs/BENCHMARKS.md, "Per-request
//! floor"). Here a span's fields are rendered once, as JSON members, when
//! the span is created, and copied into each line as they are; values are
//! escaped as they are written, with no intermediate allocation.
//!
//! Written by hand because this is the one piece of code every request
//! runs, and no maintained crate writes tracing's JSON without the map.

use std::fmt::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::field::{Field, Visit};
use tracing::span::Record;
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats each event as one JSON object on a line.
pub struct JsonLine;

/// Renders a span's fields as JSON members (`"a":1,"b":"x"`), kept with
/// the span and copied into every line logged inside it.
pub struct JsonFields;

impl<'w> FormatFields<'w> for JsonFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'w>, fields: R) -> fmt::Result {
        let mut members = Members::new(&mut writer, true);
        fields.record(&mut members);
        members.result
    }

    fn add_fields(
        &self,
        current: &'w mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> fmt::Result {
        let first = current.fields.is_empty();
        let mut writer = current.as_writer();
        let mut members = Members::new(&mut writer, first);
        fields.record(&mut members);
        members.result
    }
}

impl<S> FormatEvent<S, JsonFields> for JsonLine
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, JsonFields>,
        mut out: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        out.write_str("{\"timestamp\":\"")?;
        timestamp(&mut out, crate::clock::log_time())?;
        out.write_str("\",\"level\":\"")?;
        out.write_str(event.metadata().level().as_str())?;
        out.write_char('"')?;
        let mut members = Members::new(&mut out, false);
        event.record(&mut members);
        members.result?;
        if let Some(span) = ctx.lookup_current() {
            out.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            if let Some(fields) = extensions.get::<FormattedFields<JsonFields>>()
                && !fields.fields.is_empty()
            {
                out.write_str(&fields.fields)?;
                out.write_char(',')?;
            }
            out.write_str("\"name\":")?;
            string(&mut out, span.name())?;
            out.write_char('}')?;
        }
        out.write_str("}\n")
    }
}

/// Writes fields as JSON members, a comma before each but the first.
struct Members<'a, W: Write> {
    out: &'a mut W,
    first: bool,
    result: fmt::Result,
}

impl<'a, W: Write> Members<'a, W> {
    fn new(out: &'a mut W, first: bool) -> Self {
        Self {
            out,
            first,
            result: Ok(()),
        }
    }

    /// Writes `"name":` then the value `write` gives, unless an earlier
    /// write failed. Fields a `log` record carries about its origin are
    /// left out, as tracing-subscriber leaves them out.
    fn member(&mut self, field: &Field, write: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() || field.name().starts_with("log.") {
            return;
        }
        self.result = (|| {
            if !self.first {
                self.out.write_char(',')?;
            }
            self.first = false;
            string(self.out, field.name())?;
            self.out.write_char(':')?;
            write(self.out)
        })();
    }
}

impl<W: Write> Visit for Members<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| string(out, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| {
            out.write_char('"')?;
            write!(Escaped(out), "{value:?}")?;
            out.write_char('"')
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_i128(&mut self, field: &Field, value: i128) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| {
            out.write_str(if value { "true" } else { "false" })
        });
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity.
        self.member(field, |out| {
            if value.is_finite() {
                write!(out, "{value}")
            } else {
                out.write_str("null")
            }
        });
    }
}

/// `s` as a JSON string, quotes included.
fn string(out: &mut impl Write, s: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(out).write_str(s)?;
    out.write_char('"')
}

/// Escapes what it is given for the inside of a JSON string: quotes,
/// backslashes and every control character (so an escape sequence from a
/// client-sent value never reaches a terminal as one).
struct Escaped<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f | 0x7f => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

/// `at` as RFC 3339 in UTC with microseconds (`2026-11-29T07:19:38.182447Z`),
/// as tracing-subscriber writes it.
fn timestamp(out: &mut impl Write, at: SystemTime) -> fmt::Result {
    let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let mut buf = *b"0000-00-00T00:00:00.000000Z";
    digits(&mut buf[0..4], year);
    digits(&mut buf[5..7], month);
    digits(&mut buf[8..10], day);
    digits(&mut buf[11..13], of_day / 3600);
    digits(&mut buf[14..16], of_day % 3600 / 60);
    digits(&mut buf[17..19], of_day % 60);
    digits(&mut buf[20..26], u64::from(since.subsec_micros()));
    // Only ASCII digits and punctuation were written.
    out.write_str(std::str::from_utf8(&buf).map_err(|_| fmt::Error)?)
}

/// Writes `n`'s last `slot.len()` decimal digits into `slot`.
fn digits(slot: &mut [u8], mut n: u64) {
    for d in slot.iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Runs `f` under a subscriber with this formatter and returns each
    /// line it logged, parsed.
    fn logged(f: impl FnOnce()) -> Vec<serde_json::Value> {
        let lines = Lines::default();
        let sink = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields)
            .event_format(JsonLine)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        assert!(text.ends_with('\n'), "{text}");
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    #[test]
    fn a_line_carries_its_fields_and_its_span() {
        let lines = logged(|| {
            let span = tracing::info_span!("request", request_id = "ab12", route = "/v1/me");
            span.in_scope(|| {
                tracing::info!(status = 200u16, latency_ms = 0.25, ok = true, "request");
            });
            tracing::warn!(user = %"alice", n = -3i64, "outside");
        });
        assert_eq!(lines.len(), 2);
        let inside = &lines[0];
        assert_eq!(inside["level"], "INFO");
        assert_eq!(inside["message"], "request");
        assert_eq!(inside["status"], 200);
        assert_eq!(inside["latency_ms"], 0.25);
        assert_eq!(inside["ok"], true);
        assert_eq!(inside["span"]["request_id"], "ab12");
        assert_eq!(inside["span"]["route"], "/v1/me");
        assert_eq!(inside["span"]["name"], "request");
        let outside = &lines[1];
        assert_eq!(outside["level"], "WARN");
        assert_eq!(outside["user"], "alice");
        assert_eq!(outside["n"], -3);
        assert!(outside.get("span").is_none());
    }

    #[test]
    fn values_are_escaped_so_a_line_stays_one_line_of_json() {
        let nasty = "quote \" backslash \\ newline \n tab \t escape \u{1b}[31m del \u{7f} é ✓";
        let lines = logged(|| {
            let span = tracing::info_span!("request", agent = nasty);
            span.in_scope(|| tracing::info!(value = nasty, shown = ?nasty, "{nasty}"));
        });
        assert_eq!(lines.len(), 1, "one line per event");
        let line = &lines[0];
        assert_eq!(line["value"], nasty);
        assert_eq!(line["message"], nasty);
        assert_eq!(line["span"]["agent"], nasty);
        assert_eq!(line["shown"], format!("{nasty:?}"));
    }

    #[test]
    fn fields_recorded_later_join_the_span() {
        let lines = logged(|| {
            let span = tracing::info_span!("request", a = 1u64, b = tracing::field::Empty);
            span.record("b", "later");
            span.in_scope(|| tracing::info!("x"));
        });
        assert_eq!(lines[0]["span"]["a"], 1);
        assert_eq!(lines[0]["span"]["b"], "later");
    }

    #[test]
    fn numbers_json_cannot_hold_become_null() {
        let lines = logged(|| tracing::info!(nan = f64::NAN, inf = f64::INFINITY, "x"));
        assert!(lines[0]["nan"].is_null());
        assert!(lines[0]["inf"].is_null());
    }

    #[test]
    fn timestamps_match_the_calendar() {
        let cases = [
            (0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, "2000-02-29T00:00:00.000000Z"),
            (1_795_936_778, "2026-11-29T07:19:38.000000Z"),
            (4_102_444_799, "2099-12-31T23:59:59.000000Z"),
        ];
        for (secs, want) in cases {
            let mut s = String::new();
            timestamp(&mut s, UNIX_EPOCH + Duration::from_secs(secs)).unwrap();
            assert_eq!(s, want);
        }
        let mut s = String::new();
        timestamp(
            &mut s,
            UNIX_EPOCH + Duration::from_micros(1_500_000_000_123_456),
        )
        .unwrap();
        assert_eq!(s, "2017-07-14T02:40:00.123456Z");
        // Every day of four centuries, against the `time` crate.
        for day in 0..146_097u64 {
            let secs = day * 86_400 + 45_296;
            let mut s = String::new();
            timestamp(&mut s, UNIX_EPOCH + Duration::from_secs(secs)).unwrap();
            let want = time::OffsetDateTime::from_unix_timestamp(secs as i64).unwrap();
            let want = format!(
                "{:04}-{:02}-{:02}T12:34:56.000000Z",
                want.year(),
                u8::from(want.month()),
                want.day()
            );
            assert_eq!(s, want, "day {day}");
        }
    }
}

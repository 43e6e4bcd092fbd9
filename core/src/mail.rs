//! Mail: tera templates per language, an outbox table, and a worker that delivers it.
//!
//! A mail is accepted by writing it to the outbox inside the caller's transaction, so it exists
//! exactly when the change that caused it does. The worker delivers due mail over SMTP (when
//! `SMTP_URL` is set) or as `.eml` files in `outbox/` of the data dir, retrying with backoff; it
//! claims each row with a conditional update, so several nodes never send the same mail twice.

use crate::msg;
use crate::{Error, Result, clock::Clock, config::Config, entities::mail_outbox};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use lettre::{
    AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, prelude::Expr,
};
use std::{sync::Arc, time::Duration};
use tokio::sync::Notify;
use uuid::Uuid;

/// Languages every template exists in.
pub const LANGUAGES: &[&str] = &["fr", "nl", "en"];

/// Attempts before a mail is marked `failed` and left for an operator to inspect.
pub const MAX_ATTEMPTS: i32 = 10;

/// The nine files (three languages × subject, text, html) of mail templates in a
/// `templates/mail/` folder of the calling crate, compiled in, as `(name, source)` pairs.
#[macro_export]
macro_rules! mail_templates {
    ($($name:literal),*) => {
        &[$(
            (concat!($name, ".en.subject"), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name, ".en.subject"))),
            (concat!($name, ".en.txt"), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name, ".en.txt"))),
            (concat!($name, ".en.html"), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name, ".en.html"))),
            (concat!($name, ".fr.subject"), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name, ".fr.subject"))),
            (concat!($name, ".fr.txt"), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name, ".fr.txt"))),
            (concat!($name, ".fr.html"), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name, ".fr.html"))),
            (concat!($name, ".nl.subject"), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name, ".nl.subject"))),
            (concat!($name, ".nl.txt"), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name, ".nl.txt"))),
            (concat!($name, ".nl.html"), include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/mail/", $name, ".nl.html"))),
        )*]
    };
}

/// The templates of core itself, compiled into the binary.
const BUILTIN: &[(&str, &str)] = mail_templates!("invitation");

/// A rendered mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// Subject line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
    /// HTML body.
    pub html: String,
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

/// Renders, queues and delivers mail.
#[derive(Clone)]
pub struct Mailer {
    tera: Arc<tera::Tera>,
    transport: Arc<Transport>,
    from: Mailbox,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let t = match *self.transport {
            Transport::Smtp(_) => "smtp",
            Transport::Folder(_) => "folder",
        };
        f.debug_struct("Mailer").field("transport", &t).finish()
    }
}

impl Mailer {
    /// Builds the mailer from the configuration: SMTP when `smtp_url` is set, else a folder.
    pub fn new(config: &Config) -> Result<Self> {
        Self::with_templates(config, &[])
    }

    /// Like [`Mailer::new`], with the modules' templates besides core's.
    pub fn with_templates(config: &Config, extra: &[(&'static str, &'static str)]) -> Result<Self> {
        let mut tera = tera::Tera::default();
        tera.add_raw_templates(BUILTIN.iter().chain(extra).copied())
            .map_err(Error::internal)?;
        tera.autoescape_on(vec![".html"]);
        let transport = match &config.smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    .map_err(|e| Error::internal(format!("SMTP_URL: {e}")))?
                    .build(),
            ),
            None => {
                let dir = config.outbox_dir();
                std::fs::create_dir_all(&dir)
                    .map_err(|e| Error::internal(format!("{}: {e}", dir.display())))?;
                Transport::Folder(AsyncFileTransport::new(dir))
            }
        };
        let from = config
            .mail_from
            .parse()
            .map_err(|e| Error::internal(format!("mail_from: {e}")))?;
        Ok(Self {
            tera: Arc::new(tera),
            transport: Arc::new(transport),
            from,
            wake: Arc::default(),
        })
    }

    /// Renders `template` in `language` (falling back to English) with `ctx`.
    pub fn render(
        &self,
        template: &str,
        language: &str,
        ctx: &serde_json::Value,
    ) -> Result<Rendered> {
        let lang = if LANGUAGES.contains(&language) {
            language
        } else {
            "en"
        };
        let ctx = tera::Context::from_serialize(ctx).map_err(Error::internal)?;
        let part = |ext: &str| {
            self.tera
                .render(&format!("{template}.{lang}.{ext}"), &ctx)
                .map_err(Error::internal)
        };
        Ok(Rendered {
            subject: part("subject")?.trim().to_string(),
            text: part("txt")?,
            html: part("html")?,
        })
    }

    /// Renders and queues a mail inside the caller's transaction. Call [`Mailer::wake`] after
    /// the commit to send it without waiting for the next poll.
    #[allow(clippy::too_many_arguments)]
    pub async fn enqueue(
        &self,
        conn: &impl ConnectionTrait,
        now: DateTime<Utc>,
        tenant_id: Option<Uuid>,
        to: &str,
        template: &str,
        language: &str,
        ctx: &serde_json::Value,
    ) -> Result<Uuid> {
        let r = self.render(template, language, ctx)?;
        let _: Mailbox = to
            .parse()
            .map_err(|_| Error::invalid("email", msg!("not a valid email address")))?;
        let id = Uuid::now_v7();
        mail_outbox::Entity::insert(mail_outbox::ActiveModel {
            id: Set(id),
            tenant_id: Set(tenant_id),
            to_addr: Set(to.to_string()),
            subject: Set(r.subject),
            text_body: Set(r.text),
            html_body: Set(r.html),
            status: Set("pending".into()),
            attempts: Set(0),
            next_attempt_at: Set(now),
            claimed_until: Set(None),
            last_error: Set(None),
            created_at: Set(now),
            sent_at: Set(None),
        })
        .exec_without_returning(conn)
        .await?;
        Ok(id)
    }

    /// Wakes the delivery worker.
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Delivers the mail that is due now; returns how many were sent.
    pub async fn deliver_due(&self, db: &DatabaseConnection, now: DateTime<Utc>) -> Result<usize> {
        let due = mail_outbox::Entity::find()
            .filter(mail_outbox::Column::Status.eq("pending"))
            .filter(mail_outbox::Column::NextAttemptAt.lte(now))
            .filter(unclaimed(now))
            .order_by_asc(mail_outbox::Column::NextAttemptAt)
            .limit(50)
            .all(db)
            .await?;
        let mut sent = 0;
        for mail in due {
            // Claim: only one node's conditional update can succeed.
            let claimed = mail_outbox::Entity::update_many()
                .col_expr(
                    mail_outbox::Column::ClaimedUntil,
                    Expr::value(now + ChronoDuration::seconds(120)),
                )
                .filter(mail_outbox::Column::Id.eq(mail.id))
                .filter(mail_outbox::Column::Status.eq("pending"))
                .filter(unclaimed(now))
                .exec(db)
                .await?;
            if claimed.rows_affected != 1 {
                continue;
            }
            let outcome = self.send(&mail).await;
            let mut update = mail_outbox::Entity::update_many()
                .col_expr(
                    mail_outbox::Column::ClaimedUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .filter(mail_outbox::Column::Id.eq(mail.id));
            match outcome {
                Ok(()) => {
                    sent += 1;
                    update = update
                        .col_expr(mail_outbox::Column::Status, Expr::value("sent"))
                        .col_expr(mail_outbox::Column::SentAt, Expr::value(now));
                }
                Err(e) => {
                    let attempts = mail.attempts + 1;
                    tracing::warn!(mail_id = %mail.id, attempts, error = %e, "mail delivery failed");
                    let status = if attempts >= MAX_ATTEMPTS {
                        "failed"
                    } else {
                        "pending"
                    };
                    update = update
                        .col_expr(mail_outbox::Column::Status, Expr::value(status))
                        .col_expr(mail_outbox::Column::Attempts, Expr::value(attempts))
                        .col_expr(
                            mail_outbox::Column::NextAttemptAt,
                            Expr::value(now + backoff(attempts)),
                        )
                        .col_expr(mail_outbox::Column::LastError, Expr::value(e));
                }
            }
            update.exec(db).await?;
        }
        Ok(sent)
    }

    async fn send(&self, mail: &mail_outbox::Model) -> std::result::Result<(), String> {
        let to: Mailbox = mail
            .to_addr
            .parse()
            .map_err(|e| format!("recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .multipart(MultiPart::alternative_plain_html(
                mail.text_body.clone(),
                mail.html_body.clone(),
            ))
            .map_err(|e| e.to_string())?;
        match self.transport.as_ref() {
            Transport::Smtp(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Folder(t) => t.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
        }
    }

    /// Runs the delivery loop for as long as the process runs.
    pub fn spawn_worker(&self, db: DatabaseConnection, clock: Arc<dyn Clock>, poll: Duration) {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = this.deliver_due(&db, clock.now()).await {
                    tracing::warn!(error = %e, "mail outbox pass failed");
                }
                tokio::select! {
                    _ = this.wake.notified() => {}
                    _ = tokio::time::sleep(poll) => {}
                }
            }
        });
    }
}

fn unclaimed(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(mail_outbox::Column::ClaimedUntil.is_null())
        .add(mail_outbox::Column::ClaimedUntil.lt(now))
}

/// 30 s, 1 min, 2 min, ... capped at one hour.
fn backoff(attempts: i32) -> ChronoDuration {
    let secs = 30i64.saturating_mul(1i64 << attempts.clamp(0, 7) as u32);
    ChronoDuration::seconds(secs.min(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_language_and_escapes_html() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = Config {
            data_dir: dir.path().into(),
            ..Config::default()
        };
        let m = Mailer::new(&cfg).unwrap();
        let ctx = serde_json::json!({"name": "<b>Ann</b>", "tenant_name": "Garage", "link": "x", "expires_at": "d"});
        for lang in LANGUAGES {
            let r = m.render("invitation", lang, &ctx).unwrap();
            assert!(r.subject.contains("Garage"));
            assert!(r.html.contains("&lt;b&gt;Ann"), "html is escaped");
            assert!(r.text.contains("<b>Ann</b>"), "text is not");
        }
        assert!(
            m.render("invitation", "de", &ctx)
                .unwrap()
                .subject
                .starts_with("You are invited")
        );
    }

    #[test]
    fn backoff_grows_and_caps() {
        assert_eq!(backoff(1).num_seconds(), 60);
        assert_eq!(backoff(2).num_seconds(), 120);
        assert_eq!(backoff(9).num_seconds(), 3600);
    }
}

/// Parses and normalises an email address (trimmed, lower-cased), or a 422 on `field`.
pub fn parse_email(field: &str, raw: &str) -> Result<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 {
        return Err(Error::invalid(
            field,
            msg!("an email address has at most 254 characters"),
        ));
    }
    let addr: lettre::Address = email
        .parse()
        .map_err(|_| Error::invalid(field, msg!("not a valid email address")))?;
    if !addr.domain().contains('.') {
        return Err(Error::invalid(
            field,
            msg!("the email domain must contain a dot"),
        ));
    }
    Ok(email)
}

#[cfg(test)]
mod email_tests {
    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            super::parse_email("e", " Ann@Garage.BE ").unwrap(),
            "ann@garage.be"
        );
        assert!(super::parse_email("e", "ann@").is_err());
        assert!(super::parse_email("e", "ann@localhost").is_err());
        assert!(super::parse_email("e", "no at sign").is_err());
    }
}

//! Audit streaming to a webhook: one of the Connections (Webhook type, its secret stored
//! sealed or in the Key Vault) receives every chained entry as CloudEvents 1.0 in JSON batches
//! (`application/cloudevents-batch+json`), signed as Verify's test event is. The endpoint's
//! 2xx answer is the acknowledgement: the cursor moves after it, and nothing is sent twice
//! unless an answer was lost on the way.

use super::{
    WebhookChoice, WebhookChoices,
    chain::Stored,
    ssr::{self as audit, Entry},
    stream::Destination,
};
use crate::{
    auth::ssr::client_addr,
    connections::ssr as connections,
    context::AppContext,
    db::{Pool, begin_write},
    error::AppError,
    roles::UserInfo,
    time_fmt::rfc3339,
};

/// The destination's row in `audit_destinations`.
const NAME: &str = "webhook";
/// What the events say they come from (a URI reference, CloudEvents §3.1.1).
const SOURCE: &str = "/gatehouse/audit";
const CONTENT_TYPE: &str = "application/cloudevents-batch+json";

/// One entry as a CloudEvent. `sequence` (the Sequence extension) is the entry's sequence
/// number padded to 20 digits, so that it sorts as text the way it sorts as a number; `id` is
/// the same number, with which a receiver drops a batch it got twice.
fn event(e: &Stored) -> serde_json::Value {
    let seq = e.seq.unwrap_or_default();
    let mac = e.mac_hex();
    let mut event = serde_json::json!({
        "specversion": "1.0",
        "id": seq.to_string(),
        "source": SOURCE,
        "type": format!("gatehouse.audit.{}", e.action),
        "time": rfc3339(e.at),
        "datacontenttype": "application/json",
        "sequence": format!("{seq:020}"),
        "data": {
            "seq": seq,
            "action": e.action,
            "actor": e.actor_email,
            "target": e.target,
            "detail": e.detail,
            "client": e.client_addr,
            "mac": mac,
        },
    });
    // Optional attributes are left out rather than null (CloudEvents §3.1).
    if let (Some(target), Some(fields)) = (&e.target, event.as_object_mut()) {
        fields.insert("subject".into(), target.clone().into());
    }
    event
}

/// The webhook destination as the sender sees it: the chosen connection, looked up again
/// before every batch, so that a change on the card applies at once.
pub struct Webhook {
    ctx: AppContext,
    connection: Option<i64>,
}

impl Webhook {
    pub fn new(ctx: AppContext) -> Self {
        Self {
            ctx,
            connection: None,
        }
    }
}

impl Destination for Webhook {
    const NAME: &'static str = NAME;
    const ACKNOWLEDGES: bool = true;

    async fn cursor(&mut self, pool: &Pool) -> Result<Option<i64>, AppError> {
        let row: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT delivered_seq, connection_id FROM audit_destinations WHERE name = $1",
        )
        .bind(NAME)
        .fetch_optional(pool)
        .await?;
        self.connection = row.and_then(|(_, id)| id);
        Ok(row.filter(|(_, id)| id.is_some()).map(|(seq, _)| seq))
    }

    async fn send(&mut self, entries: &[Stored]) -> Result<(), String> {
        let id = self.connection.ok_or("no connection is chosen")?;
        let events: Vec<serde_json::Value> = entries.iter().map(event).collect();
        let body = serde_json::to_vec(&events).map_err(|e| e.to_string())?;
        connections::post_signed(&self.ctx, id, CONTENT_TYPE, body).await
    }

    async fn lost_last(&mut self) -> bool {
        false
    }

    fn disconnect(&mut self) {}

    /// The error already names the connection.
    fn address(&self) -> String {
        "webhook".to_owned()
    }
}

/// The card's picker: the Webhook connections, and the one that receives the stream.
pub async fn choices(pool: &Pool) -> Result<WebhookChoices, AppError> {
    let current: Option<Option<i64>> =
        sqlx::query_scalar("SELECT connection_id FROM audit_destinations WHERE name = $1")
            .bind(NAME)
            .fetch_optional(pool)
            .await?;
    Ok(WebhookChoices {
        current: current.flatten(),
        webhooks: connections::webhooks(pool)
            .await?
            .into_iter()
            .map(|(id, name, url)| WebhookChoice { id, name, url })
            .collect(),
    })
}

/// Streams to the Webhook connection `id`, or stops (`None`). Another connection than before
/// is a new destination: it receives the whole log.
pub async fn choose(ctx: &AppContext, admin: &UserInfo, id: Option<i64>) -> Result<(), AppError> {
    let mut tx = begin_write(&ctx.pool).await?;
    let (action, detail) = match id {
        Some(id) => {
            let name = connections::webhook_name(&mut tx, id).await?;
            sqlx::query(
                "INSERT INTO audit_destinations (name, address, delivered_seq, connection_id) \
                 VALUES ($1, $2, 0, $3) \
                 ON CONFLICT (name) DO UPDATE SET address = excluded.address, \
                 connection_id = excluded.connection_id, \
                 delivered_seq = CASE WHEN audit_destinations.connection_id = excluded.connection_id \
                   THEN audit_destinations.delivered_seq ELSE 0 END, \
                 last_error = NULL, last_error_at = NULL",
            )
            .bind(NAME)
            .bind(&name)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            (
                "audit.stream_configure",
                format!("webhook connection {name}"),
            )
        }
        None => {
            let gone = sqlx::query("DELETE FROM audit_destinations WHERE name = $1")
                .bind(NAME)
                .execute(&mut *tx)
                .await?;
            if gone.rows_affected() == 0 {
                return Ok(());
            }
            ("audit.stream_remove", "webhook".to_owned())
        }
    };
    audit::record(
        &mut tx,
        Entry {
            actor: Some(admin),
            action,
            target: Some("audit streaming"),
            detail: &detail,
            client_addr: client_addr().as_deref(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

//! The mail an opportunity's writers queue.

use crate::opportunities::{entities::opportunity, links::label};
use forecourt_core::{
    Result,
    tenancy::{Cx, Tenanted},
    uow::Uow,
};
use serde_json::json;
use uuid::Uuid;

/// Queues the mail telling the new assignee, in the tenant's language, in the unit of work.
pub(crate) async fn notify_assignee(
    uow: &Uow<'_>,
    cx: &Cx,
    o: &opportunity::Model,
    to: Uuid,
) -> Result<()> {
    let app = uow.app();
    let directory = &app.ports.directory;
    let Some(mailbox) = directory.mailbox(uow.txn().into(), cx.tenant(), to).await? else {
        return Ok(());
    };
    let by_name = directory
        .mailbox(uow.txn().into(), cx.tenant(), cx.user_id())
        .await?
        .map(|m| m.name)
        .unwrap_or_default();
    let customer = label(uow.txn(), cx, o.id).await?;
    let language = directory
        .tenant_info(app, o.tenant_id)
        .await?
        .map(|i| i.language)
        .unwrap_or_else(|| "en".into());
    let link = format!(
        "{}/opportunities/{}",
        app.config.public_url.trim_end_matches('/'),
        o.id
    );
    let ctx = json!({"name": mailbox.name, "by": by_name, "customer": customer, "status": o.status, "customer_info": o.customer_info, "link": link});
    app.mail
        .enqueue(
            uow.txn(),
            uow.now(),
            Some(o.tenant_id),
            &mailbox.email,
            "assignment",
            &language,
            &ctx,
        )
        .await?;
    Ok(())
}

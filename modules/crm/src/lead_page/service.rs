//! The lead page's rules: an action of any kind is a validated document in
//! `opportunity_actions`, added, changed and listed under the opportunity's permission and
//! recorded in its activity (the Details tab); the purchase order; documents' files.

use crate::{
    contacts::{service as contacts, validate},
    lead_page::{
        entities::opportunity_action,
        files::{self, COLLECTION},
        kinds::{Kind, Offer},
        views::{ActionView, Document, HistoryEntry, PurchaseOrderSent},
    },
    opportunities::{
        entities::opportunity,
        links,
        service::{Change, check_change, in_reach, load, lock, statuses},
    },
    vehicles::service as vehicles,
};
use chrono::{DateTime, Utc};
use forecourt_core::msg;
use forecourt_core::{
    App, Error, Result, activity,
    ports::{directory::DirectoryKind, statuses::StatusSet},
    storage::StorageKey,
    tenancy::{Cx, TenantScoped, Tenanted},
    uow::{Activity, AfterCommit, Uow},
};
use poem::Request;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType, Order,
    QueryFilter, QueryOrder, QuerySelect, QueryTrait, prelude::Expr, sea_query::ExprTrait,
};
use serde::Serialize;
use sha2::Digest;
use uuid::Uuid;

/// An action about to be stored.
#[derive(Debug, Clone)]
pub(crate) struct NewAction {
    /// Its stored kind.
    pub kind: &'static str,
    /// Whether a closed opportunity takes it (comments, documents).
    pub remark: bool,
    /// Its id (a document's file is stored under it).
    pub id: Uuid,
    /// Its fields, as stored.
    pub data: serde_json::Value,
    /// Who added it (`None` for the system).
    pub created_by: Option<Uuid>,
    /// When.
    pub at: DateTime<Utc>,
}

impl NewAction {
    /// A checked body of a kind, with a new id.
    pub(crate) fn of<K: Kind>(
        body: &K,
        created_by: Option<Uuid>,
        at: DateTime<Utc>,
    ) -> Result<Self> {
        Ok(Self {
            kind: K::KIND,
            remark: K::REMARK,
            id: Uuid::now_v7(),
            data: serde_json::to_value(body).map_err(Error::internal)?,
            created_by,
            at,
        })
    }

    /// The activity entry's action, e.g. `offer_added`.
    pub(crate) fn recorded_as(&self) -> String {
        format!("{}_added", self.kind)
    }
}

/// Stores an action of the opportunity. Every action goes through here, from the API and from
/// lead intake, so the closed rule is checked here too ([`check_change`]). The caller records
/// it in the activity (as [`NewAction::recorded_as`]).
pub(crate) async fn store(
    conn: &impl ConnectionTrait,
    statuses: &StatusSet,
    o: &opportunity::Model,
    a: &NewAction,
) -> Result<()> {
    store_many(conn, statuses, o, std::slice::from_ref(a)).await
}

/// Stores several actions of the opportunity in one statement, each checked like [`store`]
/// (lead intake adds all of a lead's at once). The caller records them in the activity.
pub(crate) async fn store_many(
    conn: &impl ConnectionTrait,
    statuses: &StatusSet,
    o: &opportunity::Model,
    actions: &[NewAction],
) -> Result<()> {
    if actions.is_empty() {
        return Ok(());
    }
    for a in actions {
        check_change(o, Change::action(a.remark), statuses)?;
    }
    opportunity_action::Entity::insert_many(actions.iter().map(|a| {
        opportunity_action::ActiveModel {
            tenant_id: Set(o.tenant_id),
            id: Set(a.id),
            opportunity_id: Set(o.id),
            kind: Set(a.kind.into()),
            data: Set(a.data.clone()),
            created_by: Set(a.created_by),
            created_at: Set(a.at),
        }
    }))
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// [`store`] and the activity entry, in the unit of work.
async fn add_in(uow: &Uow<'_>, o: &opportunity::Model, a: NewAction) -> Result<()> {
    let statuses = statuses(uow.app(), uow.txn().into(), uow).await?;
    store(uow.txn(), &statuses, o, &a).await?;
    uow.record(Activity::new("opportunity", o.id, a.recorded_as()).changes(a.data))
        .await
}

/// Adds an action after checking the opportunity is writable by the caller.
pub(crate) async fn add<K: Kind>(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
    mut body: K,
) -> Result<ActionView<K>> {
    // Access first: a caller who cannot reach the opportunity learns nothing from the body.
    let uow = Uow::begin(app, cx).await?;
    let o = lock(&uow, cx, opportunity_id, Change::action(K::REMARK)).await?;
    body.check(app, cx).await?;
    // As stored: PostgreSQL keeps microseconds, so the answer and a later read agree.
    let now = chrono::SubsecRound::trunc_subsecs(uow.now(), 6);
    let a = NewAction::of(&body, Some(cx.user_id()), now)?;
    let id = a.id;
    add_in(&uow, &o, a).await?;
    uow.commit().await?;
    Ok(ActionView {
        id,
        created_by: Some(cx.user_id()),
        created_at: now,
        data: body,
    })
}

/// The action `action_id` of kind `K` on the opportunity the unit of work locked, when the
/// caller may change it: anyone who writes the opportunity for tasks and follow-ups; for an
/// authored kind ([`Kind::AUTHORED`]) its author, or a holder of
/// `opportunities.actions`/`write` whose scope reaches the opportunity (403 otherwise).
async fn changeable<K: Kind>(
    uow: &Uow<'_>,
    cx: &Cx,
    o: &opportunity::Model,
    action_id: Uuid,
) -> Result<opportunity_action::Model> {
    let row = opportunity_action::Entity::scoped(cx)
        .filter(opportunity_action::Column::OpportunityId.eq(o.id))
        .filter(opportunity_action::Column::Kind.eq(K::KIND))
        .filter(opportunity_action::Column::Id.eq(action_id))
        .one(uow.txn())
        .await?
        .ok_or(Error::NotFound(K::KIND))?;
    if !K::AUTHORED || row.created_by == Some(cx.user_id()) {
        return Ok(row);
    }
    let app = uow.app();
    let write = forecourt_core::access::Action::Write;
    let reaches = match app.authz.scope(cx.user(), OTHERS_ACTIONS, write).await? {
        Some(_) => {
            let managing = app.authz.context(cx.user(), OTHERS_ACTIONS, write).await?;
            load(uow.txn(), &managing, o.id).await.is_ok()
        }
        None => false,
    };
    if reaches {
        Ok(row)
    } else {
        Err(Error::forbidden(msg!(
            "only its author or a manager of the opportunity may change or withdraw it"
        )))
    }
}

/// The permission object of correcting and withdrawing what someone else added to a lead
/// page (managers at their establishment by default).
pub const OTHERS_ACTIONS: &str = "opportunities.actions";

/// Changes one action: the given fields replace the stored ones, and the result is checked
/// exactly like a new action of its kind. Who may: see [`changeable`].
pub(crate) async fn update<K: Kind>(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
    action_id: Uuid,
    patch: impl Serialize,
) -> Result<ActionView<K>> {
    let uow = Uow::begin(app, cx).await?;
    let o = lock(&uow, cx, opportunity_id, Change::action(K::REMARK)).await?;
    let row = changeable::<K>(&uow, cx, &o, action_id).await?;
    let mut merged = row.data.clone();
    if let (Some(target), serde_json::Value::Object(changes)) = (
        merged.as_object_mut(),
        serde_json::to_value(patch).map_err(Error::internal)?,
    ) {
        target.extend(changes);
    }
    let mut body: K = serde_json::from_value(merged).map_err(Error::internal)?;
    body.check(app, cx).await?;
    let data = serde_json::to_value(&body).map_err(Error::internal)?;
    opportunity_action::Entity::update_in(cx)
        .col_expr(
            opportunity_action::Column::Data,
            sea_orm::prelude::Expr::value(data.clone()),
        )
        .filter(opportunity_action::Column::Id.eq(row.id))
        .exec(uow.txn())
        .await?;
    let mut changes = activity::diff(&row.data, &data);
    if let Some(c) = changes.as_object_mut() {
        c.insert("action_id".into(), serde_json::json!(row.id));
    }
    uow.record(Activity::new("opportunity", o.id, format!("{}_updated", K::KIND)).changes(changes))
        .await?;
    uow.commit().await?;
    Ok(ActionView {
        id: row.id,
        created_by: row.created_by,
        created_at: row.created_at,
        data: body,
    })
}

/// Withdraws one action (its author, or see [`changeable`]): it leaves the lead page, and the
/// Details tab keeps what it was.
pub(crate) async fn withdraw<K: Kind>(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
    action_id: Uuid,
) -> Result<()> {
    let uow = Uow::begin(app, cx).await?;
    let o = lock(&uow, cx, opportunity_id, Change::action(K::REMARK)).await?;
    let row = changeable::<K>(&uow, cx, &o, action_id).await?;
    opportunity_action::Entity::delete_in(cx)
        .filter(opportunity_action::Column::Id.eq(row.id))
        .exec(uow.txn())
        .await?;
    let mut changes = row.data;
    if let Some(c) = changes.as_object_mut() {
        c.insert("action_id".into(), serde_json::json!(row.id));
    }
    uow.record(
        Activity::new("opportunity", o.id, format!("{}_withdrawn", K::KIND)).changes(changes),
    )
    .await?;
    uow.commit().await
}

/// The actions of one opportunity of `kind` (one of them when `id` is given), newest first,
/// if the caller of `cx` (a read context) reaches the opportunity.
async fn rows(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
    kind: &str,
    id: Option<Uuid>,
) -> Result<Vec<opportunity_action::Model>> {
    use opportunity_action::Column as A;
    // One statement: the opportunity as the caller reaches it, its actions of the kind
    // joined on. No row at all: the caller does not reach it (404); one row without an
    // action: it has none.
    let action = |c: A| Expr::col((opportunity_action::Entity, c));
    let mut on = Condition::all()
        .add(action(A::TenantId).equals((opportunity::Entity, opportunity::Column::TenantId)))
        .add(action(A::OpportunityId).equals((opportunity::Entity, opportunity::Column::Id)))
        .add(action(A::Kind).eq(kind));
    if let Some(id) = id {
        on = on.add(action(A::Id).eq(id));
    }
    let mut q = in_reach(cx)
        .filter(opportunity::Column::Id.eq(opportunity_id))
        .select_only()
        .column_as(opportunity::Column::Id, "opportunity_id")
        .into_query();
    q.join(JoinType::LeftJoin, opportunity_action::Entity, on)
        .expr_as(action(A::Id), "a_id")
        .expr_as(action(A::Data), "a_data")
        .expr_as(action(A::CreatedBy), "a_created_by")
        .expr_as(action(A::CreatedAt), "a_created_at")
        .order_by((opportunity_action::Entity, A::Id), Order::Desc);
    let found = app
        .db
        .query_all_raw(app.db.get_database_backend().build(&q))
        .await?;
    if found.is_empty() {
        return Err(Error::NotFound("opportunity"));
    }
    let mut out = Vec::new();
    for row in found {
        let Some(id) = row.try_get::<Option<Uuid>>("", "a_id")? else {
            continue;
        };
        out.push(opportunity_action::Model {
            tenant_id: cx.tenant().uuid(),
            id,
            opportunity_id,
            kind: kind.to_string(),
            data: row.try_get("", "a_data")?,
            created_by: row.try_get("", "a_created_by")?,
            created_at: row.try_get("", "a_created_at")?,
        });
    }
    Ok(out)
}

/// One action of a kind (404 when the opportunity has no such action).
pub(crate) async fn one<K: Kind>(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
    action_id: Uuid,
) -> Result<ActionView<K>> {
    views::<K>(rows(app, cx, opportunity_id, K::KIND, Some(action_id)).await?)
        .into_iter()
        .next()
        .ok_or(Error::NotFound(K::KIND))
}

/// The actions of one kind, newest first.
pub(crate) async fn list<K: Kind>(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
) -> Result<Vec<ActionView<K>>> {
    Ok(views::<K>(
        rows(app, cx, opportunity_id, K::KIND, None).await?,
    ))
}

fn views<K: Kind>(rows: Vec<opportunity_action::Model>) -> Vec<ActionView<K>> {
    rows.into_iter()
        .filter_map(|r| {
            let data = serde_json::from_value::<K>(r.data).ok()?;
            Some(ActionView {
                id: r.id,
                created_by: r.created_by,
                created_at: r.created_at,
                data,
            })
        })
        .collect()
}

/// Every action on the opportunity, who and when, newest first.
pub(crate) async fn history(app: &App, cx: &Cx, opportunity_id: Uuid) -> Result<Vec<HistoryEntry>> {
    let o = load(&app.db, cx, opportunity_id).await?;
    let rows = activity::list(
        &app.db,
        o.tenant_id,
        None,
        Some(("opportunity", o.id)),
        None,
        500,
    )
    .await?;
    // Names are read now, in one statement for every actor of the page: a renamed user is
    // still that person, and no write pays for a lookup it does not need.
    let mut actors: Vec<Uuid> = rows.iter().filter_map(|r| r.actor_user_id).collect();
    actors.sort_unstable();
    actors.dedup();
    let names = app
        .ports
        .directory
        .names((&app.db).into(), cx.tenant(), DirectoryKind::User, &actors)
        .await?;
    let label = links::label(&app.db, cx, o.id).await?;
    Ok(rows
        .into_iter()
        .map(|r| HistoryEntry {
            at: r.at,
            actor_name: r.actor_user_id.and_then(|u| names.get(&u).cloned()),
            actor_user_id: r.actor_user_id,
            actor: r.actor,
            action: r.action,
            changes: r.changes,
            label: label.clone(),
        })
        .collect())
}

/// Renders the purchase order of the latest offer in `language` and queues it for the
/// opportunity's first contact.
pub(crate) async fn purchase_order(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
    language: Option<String>,
) -> Result<PurchaseOrderSent> {
    let mut uow = Uow::begin(app, cx).await?;
    let o = lock(&uow, cx, opportunity_id, Change::PurchaseOrder).await?;
    let offer_row = opportunity_action::Entity::scoped(cx)
        .filter(opportunity_action::Column::OpportunityId.eq(o.id))
        .filter(opportunity_action::Column::Kind.eq(Offer::KIND))
        .order_by_desc(opportunity_action::Column::Id)
        .one(uow.txn())
        .await?
        .ok_or(Error::Validation {
            kind: "no_offer",
            field: "offers".into(),
            detail: msg!("add an offer before sending a purchase order"),
        })?;
    let offer: Offer = serde_json::from_value(offer_row.data).map_err(Error::internal)?;
    let car = vehicles::get(uow.txn(), cx, offer.vehicle_id).await?;
    let vehicle_name = car
        .as_ref()
        .map(|v| {
            [
                Some(v.make.as_str()),
                Some(v.model.as_str()),
                v.trim.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
        })
        .unwrap_or_default();
    let first = links::links(uow.txn(), cx, o.id)
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound("contact"))?;
    let customer = contacts::complete(
        uow.txn(),
        contacts::scoped(cx)
            .filter(crate::contacts::entities::contact::Column::Id.eq(first.contact_id))
            .one(uow.txn())
            .await?
            .ok_or(Error::NotFound("contact"))?,
    )
    .await?;
    // The request's language, else the customer's, else the tenant's.
    let language = match language {
        Some(l) => validate::language(&l)
            .ok_or_else(|| Error::invalid("language", msg!("one of `fr`, `nl`, `en`")))?,
        None => match customer.contact.language.clone() {
            Some(l) => l,
            None => app
                .ports
                .directory
                .tenant_info(app, o.tenant_id)
                .await?
                .map(|i| i.language)
                .unwrap_or_else(|| "fr".into()),
        },
    };
    let to = customer
        .emails
        .first()
        .cloned()
        .ok_or_else(|| Error::Validation {
            kind: "customer_without_email",
            field: "contacts".into(),
            detail: msg!("the customer has no email address"),
        })?;
    let dealer = app
        .ports
        .directory
        .tenant_name(uow.txn().into(), cx.tenant())
        .await?;
    let ctx = serde_json::json!({
        "customer": customer.contact.display_name,
        "dealer": dealer,
        "vehicle": vehicle_name,
        "vin": car.as_ref().map(|v| v.vin.clone()),
        "price": offer.price.to_string(),
        "discount": offer.discount.to_string(),
        "total": offer.price.minus(offer.discount).unwrap_or_default().to_string(),
        "valid_until": offer.valid_until.to_string(),
        "reference": o.id.to_string(),
    });
    let mail_id = app
        .mail
        .enqueue(
            uow.txn(),
            uow.now(),
            Some(o.tenant_id),
            &to,
            "purchase_order",
            &language,
            &ctx,
        )
        .await?;
    uow.record(
        Activity::new("opportunity", o.id, "purchase_order_sent").changes(
            serde_json::json!({"to": to, "language": language, "offer_id": offer_row.id, "mail_id": mail_id}),
        ),
    )
    .await?;
    uow.after_commit(AfterCommit::WakeMailer);
    uow.commit().await?;
    Ok(PurchaseOrderSent {
        mail_id,
        to,
        language,
        offer_id: offer_row.id,
    })
}

/// Stores an uploaded document: its file in storage, its metadata as an action.
pub(crate) async fn upload(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
    req: &Request,
    body: bytes::Bytes,
) -> Result<Document> {
    let uow = Uow::begin(app, cx).await?;
    // Access first: a caller who cannot reach the opportunity learns nothing about the file.
    // Documents stay allowed on a closed opportunity (signed orders arrive after the sale).
    let o = lock(&uow, cx, opportunity_id, Change::Remark).await?;
    let (raw_name, content_type, bytes) = files::received(req, body).await?;
    let filename = files::clean_filename(&raw_name)?;
    files::check_content(&content_type, &bytes)?;
    let id = Uuid::now_v7();
    let now = uow.now();
    let doc = Document {
        id,
        filename,
        content_type,
        size: bytes.len() as i64,
        sha256: hex::encode(sha2::Sha256::digest(&bytes)),
        created_by: Some(cx.user_id()),
        created_at: now,
    };
    let a = NewAction {
        kind: files::KIND,
        remark: true,
        id,
        data: serde_json::to_value(&doc).map_err(Error::internal)?,
        created_by: Some(cx.user_id()),
        at: now,
    };
    let key = StorageKey::tenant(o.tenant_id, COLLECTION, id);
    app.storage.put(&key, &bytes).await?;
    let stored = async {
        add_in(&uow, &o, a).await?;
        uow.commit().await
    }
    .await;
    if let Err(e) = stored {
        // The metadata did not land: the file would be unreachable, so it goes too.
        if let Err(cleanup) = app.storage.delete(&key).await {
            tracing::warn!(error = %cleanup, "could not remove the file of a failed upload");
        }
        return Err(e);
    }
    Ok(doc)
}

fn document(row: opportunity_action::Model) -> Option<Document> {
    let mut d: Document = serde_json::from_value(row.data).ok()?;
    d.id = row.id;
    d.created_by = row.created_by;
    d.created_at = row.created_at;
    Some(d)
}

/// The documents of an opportunity (one of them when `document_id` is given), newest first.
pub(crate) async fn documents(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
    document_id: Option<Uuid>,
) -> Result<Vec<Document>> {
    let rows = rows(app, cx, opportunity_id, files::KIND, document_id).await?;
    Ok(rows.into_iter().filter_map(document).collect())
}

/// A document's file, with its metadata.
pub(crate) async fn download(
    app: &App,
    cx: &Cx,
    opportunity_id: Uuid,
    document_id: Uuid,
) -> Result<(Document, Vec<u8>)> {
    let doc = documents(app, cx, opportunity_id, Some(document_id))
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound("document"))?;
    let key = StorageKey::tenant(cx.tenant().uuid(), COLLECTION, doc.id);
    let bytes = app.storage.get(&key).await?.ok_or_else(|| {
        tracing::error!(document = %doc.id, "document metadata without its file");
        Error::NotFound("document")
    })?;
    Ok((doc, bytes))
}
